// node-redis against the schsim simulator: RESP3 with maintenance notifications enabled.
// Usage: node smoke.mjs <port>. Prints one JSON object; exits non-zero on failure.
import { createClient } from 'redis';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node smoke.mjs <port>');
  process.exit(2);
}

const client = createClient({
  socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 5000 },
  RESP: 3,
  maintNotifications: 'enabled',
});
const errors = [];
client.on('error', (err) => errors.push(String(err)));

const result = { ok: false };
try {
  await client.connect();
  result.set = await client.set('node:key', 'node-value');
  result.get = await client.get('node:key');
  await client.del('node:counter');
  result.incr = [];
  for (let i = 0; i < 5; i++) {
    result.incr.push(await client.incr('node:counter'));
  }
  result.ok = true;
} catch (err) {
  result.error = String(err);
} finally {
  result.errors = errors;
  try {
    await client.quit();
  } catch {
    client.destroy();
  }
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
