// An Ari agent written with the `ws` package only, following relay/PROTOCOL.md
// (ari.v1). It answers every task with REPLY_TEXT, streamed in pieces of a
// few characters: in accumulated mode when the user message begins with
// "accumulated", else in delta mode. It prints one JSON line per event.
//
//   ARI_AGENT_URL    ws://host:port/ws/agent
//   ARI_AGENT_TOKEN  the agent's ari_ token
//   REPLY_TEXT       what to answer
//   CHUNK_CHARS      characters (code points) per chunk, default 3
import WebSocket from 'ws';

const url = process.env.ARI_AGENT_URL;
const token = process.env.ARI_AGENT_TOKEN;
const reply = process.env.REPLY_TEXT;
const chunkChars = Number(process.env.CHUNK_CHARS || 3);
const log = (event) => process.stdout.write(JSON.stringify(event) + '\n');

// Whole characters per chunk: the relay requires every chunk to be whole UTF-8.
const codePoints = Array.from(reply);
const pieces = [];
for (let i = 0; i < codePoints.length; i += chunkChars) {
  pieces.push(codePoints.slice(i, i + chunkChars).join(''));
}

const ws = new WebSocket(url, 'ari.v1');
const send = (frame) => ws.send(JSON.stringify(frame));

ws.on('open', () => send({ type: 'auth', token }));
ws.on('message', (data, isBinary) => {
  if (isBinary) return;
  const frame = JSON.parse(data.toString('utf8'));
  switch (frame.type) {
    case 'auth_ok':
      send({ type: 'skills', skills: [{ name: 'interop', description: 'answers from Node' }] });
      log({ event: 'ready', agent: frame.agent, protocol: frame.protocol });
      break;
    case 'auth_error':
      log({ event: 'auth_error', code: frame.code, message: frame.message });
      process.exit(3);
      break;
    case 'task': {
      const accumulated = frame.message.content.startsWith('accumulated');
      let sofar = '';
      for (const piece of pieces) {
        sofar += piece;
        send({
          type: 'agent_chunk',
          taskId: frame.taskId,
          content: accumulated ? sofar : piece,
          mode: accumulated ? 'accumulated' : 'delta',
        });
      }
      send({ type: 'agent_complete', taskId: frame.taskId });
      log({ event: 'task', taskId: frame.taskId, messageId: frame.messageId, content: frame.message.content,
        sender: frame.message.sender, chunks: pieces.length, mode: accumulated ? 'accumulated' : 'delta' });
      break;
    }
    case 'error':
      log({ event: 'error', code: frame.code, message: frame.message, ref: frame.ref });
      break;
    default:
      break; // task_cancel, pong and anything newer
  }
});
ws.on('close', (code, reason) => {
  log({ event: 'closed', code, reason: reason.toString() });
  process.exit(0);
});
ws.on('error', (err) => {
  log({ event: 'socket_error', message: err.message });
  process.exit(2);
});
process.on('SIGTERM', () => ws.close(1000, 'normal'));
