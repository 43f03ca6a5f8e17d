// Follows one run's SSE stream with the npm `eventsource` package (a WHATWG EventSource that
// nobody here wrote) and prints one line per happening, for the test that drives the gateway:
//   OPEN                              a connection was answered 200
//   EVENT <name> <id> <seq> <type>    an event of the run, by the name it arrived under
//   CONNECTION-ERROR <readyState>     EventSource's own error event (it reconnects by itself)
//   ERROR-WITH-DATA <data>            an `error` dispatch that carried data: a frame mistaken for a connection error
//   STOPPED                           readyState CLOSED: the client gave up for good (exit 1)
// It exits 0 once it has <count> events. Usage: node follow.mjs <stream-url> <count>
import { EventSource } from 'eventsource';

const [url, count] = process.argv.slice(2);
const names = ['game_start', 'turn_start', 'observation', 'llm_response', 'action', 'game_end', 'arena.error', 'error', 'message'];
let received = 0;
const source = new EventSource(url);
source.addEventListener('open', () => console.log('OPEN'));
source.addEventListener('error', (e) => {
  if (e.data !== undefined) {
    console.log(`ERROR-WITH-DATA ${e.data}`);
    return;
  }
  console.log(`CONNECTION-ERROR ${source.readyState}`);
  if (source.readyState === EventSource.CLOSED) {
    console.log(`STOPPED ${e.message ?? ''}`);
    process.exit(1);
  }
});
for (const name of names.filter((n) => n !== 'error')) {
  source.addEventListener(name, (e) => {
    const envelope = JSON.parse(e.data);
    console.log(`EVENT ${name} ${e.lastEventId} ${envelope.seq} ${envelope.type}`);
    if (++received >= Number(count)) {
      source.close();
      process.exit(0);
    }
  });
}
