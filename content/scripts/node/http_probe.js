// Demo script (Dihya catalog: http-probe): time an HTTP GET of a port on this machine.
// Run by Dihya as `node http_probe.js --port=8080` in a sandbox.
'use strict';
const http = require('http');

const arg = process.argv.slice(2).find((a) => a.startsWith('--port='));
const port = Number(arg ? arg.slice('--port='.length) : NaN);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('invalid port');
  process.exit(2);
}
const started = process.hrtime.bigint();
const request = http.get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (response) => {
  response.resume();
  response.on('end', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`GET http://127.0.0.1:${port}/ -> ${response.statusCode} in ${ms.toFixed(1)} ms`);
    process.exit(response.statusCode < 500 ? 0 : 1);
  });
});
request.on('timeout', () => request.destroy(new Error('timed out after 5 s')));
request.on('error', (err) => {
  console.log(`GET http://127.0.0.1:${port}/ failed: ${err.message}`);
  process.exit(1);
});
