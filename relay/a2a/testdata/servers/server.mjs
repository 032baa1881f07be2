// Real A2A peers for the relay/a2a Go tests, built with the official SDK.
//
//   node server.mjs v1      SDK 1.3.0, v1.0 only (legacy compat off)
//   node server.mjs compat  SDK 1.3.0 with legacyCompat on; the card declares
//                           only a v0.3 JSON-RPC interface, so a v0.3 client
//                           goes through the SDK's compat layer
//   node server.mjs v03     SDK 0.3.14, a genuine v0.3 server
//
// It listens on a free 127.0.0.1 port and prints {"port":N} as its first
// stdout line. Each server hosts three agents under path prefixes:
//   /open    no auth
//   /secure  requires "X-Api-Key: s3cret" or "Authorization: Bearer s3cret"
//            on JSON-RPC calls (the card stays public), else 401
//   /ladder  (v03 only) a card that wrongly advertises a v1.0 interface, so a
//            client must step down from SendStreamingMessage to message/stream
// GET /stats reports what the server saw (requests, methods, cancels, and the
// params of each prefix's latest call).
//
// The agent's behaviour is picked by the first word of the user's text:
// stream (default), status, message, fail, ask (input-required: "Which
// city?" with a data part of options; the answer, sent into the same task,
// is echoed with its data parts and the task and context it reached), slow (a little text, then
// silence until cancelled), silent (a task, then silence), mute (no answer at
// all), echo-history, reject (the streaming call is refused before any stream:
// HTTP 200 with a JSON-RPC error object whose message is REJECTION).
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import express from 'express';

const mode = process.argv[2] || 'v1';
const CHUNKS = ['Grüße, ', '世界 — ', 'naïve café ', '🙂 done'];

const stats = { rpc: {}, methods: [], cancels: [], unauthorized: 0, lastParams: {} };
const cancelled = new Set();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const firstWord = (text) => (text.trim().split(/\s+/)[0] || 'stream').toLowerCase();

// The agent's own refusal: control characters and more than the relay shows
// (2048 bytes), so a client must clean and cut it.
const REJECTION = 'quota exceeded:\u0007 try\nagain\u001b later ✋ ' + 'z'.repeat(3000);

// The behaviours are written once against this small event vocabulary; an
// adapter per SDK turns them into that SDK's event objects.
async function behave(ev, text, history, answer) {
  if (answer) {
    // A message into an existing task: the answer to its question. SDK
    // 1.3 wants the task first on every stream, a continued one's too.
    ev.task('working');
    ev.artifact('answer', `answer: ${text} ${JSON.stringify(answer.data)} → ${ev.taskId} in ${ev.contextId}`, false, true);
    ev.status('completed');
    return;
  }
  const word = firstWord(text);
  if (word === 'message') {
    ev.message('Just one message ✓');
    return;
  }
  if (word === 'mute') {
    // Accepts the call and says nothing, not even that a task exists: SDK
    // 1.3 then sends no response headers at all (it waits for the first
    // event), SDK 0.3.14 only its SSE headers.
    await sleep(60000);
    ev.message('too late');
    return;
  }
  ev.task('submitted');
  switch (word) {
    case 'status':
      for (const part of ['Hello ', 'wörld', ' ✓']) {
        ev.status('working', part);
        await sleep(20);
      }
      ev.status('completed');
      return;
    case 'fail':
      ev.status('working', 'thinking');
      await sleep(20);
      ev.status('failed', 'boom: the agent failed');
      return;
    case 'ask':
      ev.status('input-required', 'Which city?', { options: ['Paris', 'Tōkyō'] });
      return;
    case 'echo-history':
      ev.artifact('a1', JSON.stringify(history), false, true);
      ev.status('completed');
      return;
    case 'slow':
    case 'silent': {
      ev.status('working');
      if (word === 'slow') ev.artifact('a1', 'partial ', false, false);
      for (let i = 0; i < 300; i++) {
        if (cancelled.has(ev.taskId)) return;
        await sleep(100);
      }
      ev.artifact('a1', 'late', true, true);
      ev.status('completed');
      return;
    }
    default: {
      // A progress note first: a client must prefer the artifact text.
      ev.status('working', `echo: streaming ${CHUNKS.length} chunk(s)`);
      for (let i = 0; i < CHUNKS.length; i++) {
        await sleep(30);
        ev.artifact('reply', CHUNKS[i], i > 0, i === CHUNKS.length - 1);
      }
      ev.status('completed');
    }
  }
}

// ---- SDK 1.3.0 (v1.0 objects: proto-shaped, numeric enums) ----
async function v1Peer(base, prefix, compat) {
  const { Role, TaskState } = await import('@a2a-js/sdk');
  const { DefaultRequestHandler, InMemoryTaskStore, AgentEvent } = await import('@a2a-js/sdk/server');
  const { jsonRpcHandler, agentCardHandler, UserBuilder } = await import('@a2a-js/sdk/server/express');
  const states = {
    submitted: TaskState.TASK_STATE_SUBMITTED, working: TaskState.TASK_STATE_WORKING,
    completed: TaskState.TASK_STATE_COMPLETED, failed: TaskState.TASK_STATE_FAILED,
    canceled: TaskState.TASK_STATE_CANCELED, 'input-required': TaskState.TASK_STATE_INPUT_REQUIRED,
  };
  const part = (t) => ({ content: { $case: 'text', value: t }, metadata: undefined, filename: '', mediaType: '' });
  const dataPart = (d) => ({ content: { $case: 'data', value: d }, metadata: undefined, filename: '', mediaType: '' });
  const msg = (ctx, t, d) => ({
    messageId: randomUUID(), contextId: ctx.contextId, taskId: ctx.taskId, role: Role.ROLE_AGENT,
    parts: d === undefined ? [part(t)] : [part(t), dataPart(d)], metadata: undefined, extensions: [], referenceTaskIds: [],
  });
  const status = (ctx, s, t, d) => ({ state: states[s], message: t === undefined ? undefined : msg(ctx, t, d), timestamp: new Date().toISOString() });
  const adapter = (ctx, bus) => ({
    taskId: ctx.taskId,
    contextId: ctx.contextId,
    message: (t) => bus.publish(AgentEvent.message({ ...msg(ctx, t), taskId: '' })),
    task: (s) => bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId, status: status(ctx, s), artifacts: [], history: [], metadata: undefined })),
    status: (s, t, d) => bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, status: status(ctx, s, t, d), metadata: undefined })),
    artifact: (id, t, append, last) => bus.publish(AgentEvent.artifactUpdate({
      taskId: ctx.taskId, contextId: ctx.contextId, append, lastChunk: last, metadata: undefined,
      artifact: { artifactId: id, name: 'reply', description: '', parts: [part(t)], metadata: undefined, extensions: [] },
    })),
  });
  const executor = {
    async execute(rc, bus) {
      const m = rc.userMessage;
      const text = m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
      const answer = rc.task ? { data: m.parts.filter((p) => p.content?.$case === 'data').map((p) => p.content.value) } : undefined;
      await behave(adapter({ taskId: rc.taskId, contextId: rc.contextId }, bus), text, m.metadata?.['ari.history'] ?? null, answer);
      bus.finished();
    },
    async cancelTask(taskId, bus) {
      stats.cancels.push(taskId);
      cancelled.add(taskId);
      const t = await store.load(taskId).catch(() => undefined);
      const ctx = { taskId, contextId: t?.contextId ?? '' };
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId: ctx.contextId, status: status(ctx, 'canceled'), metadata: undefined }));
      bus.finished();
    },
  };
  const url = `${base}${prefix}/rpc`;
  const interfaces = compat
    ? [{ url, protocolBinding: 'JSONRPC', protocolVersion: '0.3', tenant: '' }]
    : [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }];
  const card = {
    name: `ari test peer ${prefix}`, description: 'streams test replies', version: '1.0.0',
    supportedInterfaces: interfaces, provider: undefined,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'],
    skills: [{ id: 'echo', name: 'echo', description: 'echo', tags: ['test'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
    signatures: [],
  };
  const store = new InMemoryTaskStore();
  const handler = new DefaultRequestHandler(card, store, executor);
  // An error thrown before the first event is answered by the SDK itself as
  // HTTP 200 with a JSON-RPC error object (code -32004, ErrorInfo data).
  const { UnsupportedOperationError } = await import('@a2a-js/sdk/errors');
  const streamMessage = handler.sendMessageStream.bind(handler);
  handler.sendMessageStream = async function* (params, context) {
    const text = (params.message?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    if (firstWord(text) === 'reject') throw new UnsupportedOperationError(REJECTION);
    yield* streamMessage(params, context);
  };
  const router = express.Router();
  const legacyCompat = compat ? { enabled: true } : undefined;
  router.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler, legacyCompat }));
  router.use('/rpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat }));
  return router;
}

// ---- SDK 0.3.14 (wire-shaped objects tagged with kind) ----
async function v03Peer(base, prefix, lieV1) {
  const { A2AError, DefaultRequestHandler, InMemoryTaskStore } = await import('a2a-sdk-03/server');
  const { jsonRpcHandler, agentCardHandler, UserBuilder } = await import('a2a-sdk-03/server/express');
  const msg = (ctx, t, d) => ({
    kind: 'message', messageId: randomUUID(), role: 'agent', taskId: ctx.taskId, contextId: ctx.contextId,
    parts: d === undefined ? [{ kind: 'text', text: t }] : [{ kind: 'text', text: t }, { kind: 'data', data: d }],
  });
  const status = (ctx, s, t, d) => ({ state: s, timestamp: new Date().toISOString(), ...(t === undefined ? {} : { message: msg(ctx, t, d) }) });
  const final = (s) => ['completed', 'failed', 'canceled', 'rejected', 'input-required'].includes(s);
  const adapter = (ctx, bus) => ({
    taskId: ctx.taskId,
    contextId: ctx.contextId,
    message: (t) => bus.publish({ ...msg(ctx, t), taskId: undefined }),
    task: (s) => bus.publish({ kind: 'task', id: ctx.taskId, contextId: ctx.contextId, status: status(ctx, s), history: [] }),
    status: (s, t, d) => bus.publish({ kind: 'status-update', taskId: ctx.taskId, contextId: ctx.contextId, status: status(ctx, s, t, d), final: final(s) }),
    artifact: (id, t, append, last) => bus.publish({
      kind: 'artifact-update', taskId: ctx.taskId, contextId: ctx.contextId, append, lastChunk: last,
      artifact: { artifactId: id, name: 'reply', parts: [{ kind: 'text', text: t }] },
    }),
  });
  const store = new InMemoryTaskStore();
  const executor = {
    async execute(rc, bus) {
      const m = rc.userMessage;
      const text = m.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
      const answer = rc.task ? { data: m.parts.filter((p) => p.kind === 'data').map((p) => p.data) } : undefined;
      await behave(adapter({ taskId: rc.taskId, contextId: rc.contextId }, bus), text, m.metadata?.['ari.history'] ?? null, answer);
      bus.finished();
    },
    async cancelTask(taskId, bus) {
      stats.cancels.push(taskId);
      cancelled.add(taskId);
      const t = await store.load(taskId);
      bus.publish({ kind: 'status-update', taskId, contextId: t?.contextId ?? '', status: { state: 'canceled', timestamp: new Date().toISOString() }, final: true });
      bus.finished();
    },
  };
  const url = `${base}${prefix}/rpc`;
  const card = {
    name: `ari test peer ${prefix}`, description: 'streams test replies', version: '1.0.0',
    protocolVersion: '0.3.0', url, preferredTransport: 'JSONRPC',
    capabilities: { streaming: true, pushNotifications: false },
    defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'],
    skills: [{ id: 'echo', name: 'echo', description: 'echo', tags: ['test'] }],
  };
  if (lieV1) card.supportedInterfaces = [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }];
  const handler = new DefaultRequestHandler(card, store, executor);
  const router = express.Router();
  router.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  // SDK 0.3.14 sends its SSE headers before the agent's first event, so it
  // never refuses a streaming call with a JSON-RPC error; other v0.3 agents
  // do, and this answers as they would, with the SDK's own error object.
  router.post('/rpc', express.json(), (req, res, next) => {
    const parts = req.body?.params?.message?.parts ?? [];
    const text = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    if (req.body?.method !== 'message/stream' || firstWord(text) !== 'reject') return next();
    res.status(200).json({ jsonrpc: '2.0', id: req.body.id ?? null, error: new A2AError(-32004, REJECTION).toJSONRPCError() });
  });
  router.use('/rpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return router;
}

// Records every JSON-RPC call. Parsing the body here is safe: the SDK's own
// express.json() sees a finished request and keeps req.body.
function recorder(prefix) {
  const parse = express.json({ limit: '10mb' });
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    stats.rpc[prefix] = (stats.rpc[prefix] ?? 0) + 1;
    parse(req, res, (err) => {
      if (err) return next(err);
      stats.methods.push({ prefix, method: req.body?.method ?? '', version: req.header('A2A-Version') ?? '' });
      stats.lastParams[prefix] = req.body?.params ?? null;
      next();
    });
  };
}

function requireKey(req, res, next) {
  if (req.method !== 'POST') return next();
  if (req.header('X-Api-Key') === 's3cret' || req.header('Authorization') === 'Bearer s3cret') return next();
  stats.unauthorized++;
  res.status(401).set('WWW-Authenticate', 'Bearer realm="ari-test"').json({ error: 'unauthorized' });
}

const server = http.createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  const app = express();
  app.get('/stats', (_req, res) => res.json(stats));
  const make = (prefix, extra) => (mode === 'v03' ? v03Peer(base, prefix, extra) : v1Peer(base, prefix, mode === 'compat'));
  const open = await make('/open');
  const secure = await make('/secure');
  app.use('/open/rpc', recorder('open'));
  app.use('/open', open);
  app.use('/secure/rpc', recorder('secure'), requireKey);
  app.use('/secure', secure);
  if (mode === 'v03') {
    app.use('/ladder/rpc', recorder('ladder'));
    app.use('/ladder', await make('/ladder', true));
  }
  server.on('request', app);
  process.stdout.write(JSON.stringify({ port }) + '\n');
});

// The Go test owns this process; exit when it closes our stdin.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
