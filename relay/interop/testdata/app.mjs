// An app runner written with the `ws` package only, following
// relay/PROTOCOL.md section 15: it sends MESSAGE to CONVERSATION_ID, answers
// each app_action of SESSION_ID with app_action_result (add_note pins the
// note and answers {count, text}), reports the user's own action `clear`
// with app_user_action once the reply ended, and prints JSON lines:
// {event: "action", action}, {event: "reply", status, content},
// {event: "ack", ack}; then it exits 0.
//
//   ARI_CLIENT_URL    ws://host:port/ws
//   ARI_SESSION       session token (sent as Authorization: Bearer)
//   CONVERSATION_ID   the conversation
//   SESSION_ID        the app session this client runs
//   MESSAGE           the message that makes the agent call the tool
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';

const ws = new WebSocket(process.env.ARI_CLIENT_URL, 'ari.v1', {
  headers: { Authorization: `Bearer ${process.env.ARI_SESSION}` },
});
const send = (frame) => ws.send(JSON.stringify(frame));
const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const fail = (why) => {
  process.stderr.write(why + '\n');
  process.exit(2);
};
setTimeout(() => fail('timed out'), 45000).unref();

const sessionId = process.env.SESSION_ID;
const notes = [];
const answered = new Set(); // the same call may come twice: answer it once
let replyId = null;

ws.on('open', () => {
  send({ type: 'send_message', conversationId: process.env.CONVERSATION_ID, content: process.env.MESSAGE, clientMessageId: randomUUID() });
});
ws.on('message', (data) => {
  const f = JSON.parse(data.toString());
  switch (f.type) {
    case 'message_ack':
      replyId = f.replies?.[0]?.messageId ?? null;
      break;
    case 'app_action':
      if (f.sessionId !== sessionId || answered.has(f.callId)) break;
      answered.add(f.callId);
      print({ event: 'action', action: f });
      if (f.action === 'add_note') {
        notes.push(f.arguments.text);
        send({ type: 'app_action_result', sessionId, callId: f.callId, result: { count: notes.length, text: f.arguments.text } });
      } else {
        send({ type: 'app_action_result', sessionId, callId: f.callId, error: { code: 'unsupported', message: `no ${f.action} here` } });
      }
      break;
    case 'stream_end':
      if (f.messageId !== replyId) break;
      print({ event: 'reply', status: f.status, content: f.content });
      notes.length = 0;
      send({ type: 'app_user_action', sessionId, id: 'clear-1', action: 'clear' });
      break;
    case 'app_event_ack':
      print({ event: 'ack', ack: f });
      ws.close(1000, 'normal');
      break;
    case 'error':
      fail(`relay error: ${JSON.stringify(f)}`);
  }
});
ws.on('close', () => process.exit(0));
ws.on('error', (err) => fail(`socket: ${err.message}`));
