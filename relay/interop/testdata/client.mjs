// An Ari client written with the `ws` package only, following relay/PROTOCOL.md
// (ari.v1). It sends each of MESSAGES (a JSON array of strings) in turn to
// CONVERSATION_ID, assembles each streamed reply by byte offsets (section 11)
// and prints one JSON line per reply:
// {content, messageId, ack, status, assembled, endContent, chunks}.
//
//   ARI_CLIENT_URL    ws://host:port/ws
//   ARI_SESSION       session token (sent as Authorization: Bearer)
//   CONVERSATION_ID   the conversation
//   MESSAGES          JSON array of message texts
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';

const messages = JSON.parse(process.env.MESSAGES);
const conversationId = process.env.CONVERSATION_ID;
const ws = new WebSocket(process.env.ARI_CLIENT_URL, 'ari.v1', {
  headers: { Authorization: `Bearer ${process.env.ARI_SESSION}` },
});
const send = (frame) => ws.send(JSON.stringify(frame));
const fail = (why) => {
  process.stderr.write(why + '\n');
  process.exit(2);
};
setTimeout(() => fail('timed out'), 30000).unref();

// Per reply: the bytes held so far, as the spec's `have` rule needs.
const replies = new Map();
let current = null;
let next = 0;

function sendNext() {
  if (next === messages.length) {
    ws.close(1000, 'normal');
    return;
  }
  const content = messages[next++];
  current = { content, clientMessageId: randomUUID(), ack: null, messageId: null };
  send({ type: 'send_message', conversationId, content, clientMessageId: current.clientMessageId });
}

function reply(messageId) {
  let r = replies.get(messageId);
  if (!r) {
    r = { have: Buffer.alloc(0), chunks: 0, gaps: 0 };
    replies.set(messageId, r);
  }
  return r;
}

ws.on('open', () => send({ type: 'sync' }));
ws.on('message', (data, isBinary) => {
  if (isBinary) return;
  const frame = JSON.parse(data.toString('utf8'));
  switch (frame.type) {
    case 'sync_result':
      sendNext();
      break;
    case 'message_ack':
      if (frame.clientMessageId === current.clientMessageId) current.ack = frame.message;
      break;
    case 'stream_start':
      if (current && current.ack && frame.replyToId === current.ack.id) current.messageId = frame.messageId;
      reply(frame.messageId);
      break;
    case 'stream_chunk': {
      const r = reply(frame.messageId);
      const delta = Buffer.from(frame.delta, 'utf8');
      const have = r.have.length;
      r.chunks++;
      if (frame.offset + delta.length <= have) break; // already held
      if (frame.offset > have) { r.gaps++; break; } // a gap: stream_end carries the text
      r.have = Buffer.concat([r.have, delta.subarray(have - frame.offset)]);
      break;
    }
    case 'stream_end': {
      const r = reply(frame.messageId);
      process.stdout.write(JSON.stringify({
        content: current.content, messageId: frame.messageId, ack: current.ack, status: frame.status,
        error: frame.error, assembled: r.have.toString('utf8'), endContent: frame.content,
        chunks: r.chunks, gaps: r.gaps,
      }) + '\n');
      sendNext();
      break;
    }
    case 'error':
      fail('relay error: ' + JSON.stringify(frame));
      break;
    default:
      break; // events, pong and anything newer
  }
});
ws.on('unexpected-response', (req, res) => fail(`upgrade refused: HTTP ${res.statusCode}`));
ws.on('error', (err) => fail('socket error: ' + err.message));
ws.on('close', () => process.exit(0));
