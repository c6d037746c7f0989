// Issue #17 item 2 (shared.mjs): connections refused while JS is busy queue a bounded number
// of error events; the last one counts the rest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SE, rawUpgraded } from '../helpers/server.mjs';
import { UPGRADE_REQUEST, SERVER_CHILD, live, launch, growthText, assertGrowth, rawClient, receivedText, linuxOnly } from './shared.mjs';

describe('issue #17: what a peer sends cannot size our memory before the bytes arrive', { skip: linuxOnly }, () => {
  it('refused connections while JS is busy: at most 257 error events, the last counting the rest', { timeout: 40_000 }, async (t) => {
    const BUSY_MS = 3000;
    const WORKERS = 32;
    const child = launch(SERVER_CHILD, { busyMs: BUSY_MS, config: { maxConnectionsForOneClient: 1 } });
    let held;
    try {
      const ready = await child.waitEvent('ready');
      held = await rawUpgraded(ready.port); // the one connection 127.0.0.1 may have
      live.sockets.add(held);
      const busy = await child.waitEvent('busy', 1, 5000);
      // Stop a second before JS is free again, so every refusal happens while it is busy.
      const stopAt = busy.t + BUSY_MS - 1000;
      const answers = new Map();
      let lastSettled = 0;
      const attempt = () =>
        new Promise((resolve) => {
          const s = rawClient(ready.port);
          s.write(UPGRADE_REQUEST);
          const timer = setTimeout(() => s.destroy(), 2000);
          s.once('close', () => {
            clearTimeout(timer);
            const m = /^HTTP\/1\.1 (\d{3}) /.exec(receivedText(s));
            resolve(m ? m[1] : 'no answer');
          });
        });
      const worker = async () => {
        while (Date.now() < stopAt) {
          const status = await attempt();
          answers.set(status, (answers.get(status) ?? 0) + 1);
          lastSettled = Date.now();
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, worker));
      const refused = answers.get('403') ?? 0;
      const report = await child.waitEvent('errors', 1, 15_000);
      const free = child.all('free')[0];
      const summary =
        `refused (403) while JS was busy: ${refused}, answers ${JSON.stringify(Object.fromEntries(answers))}; ` +
        `error events: ${report.count}; ${growthText(busy, report.mem)}`;
      t.diagnostic(summary);
      assert.ok(lastSettled < free.t, `every refusal was over before JS was free; ${summary}`);
      assert.deepEqual([...answers.keys()], ['403'], summary);
      assert.ok(refused > 2 * 257, `the flood must overflow the queue to show anything; ${summary}`);
      assert.equal(report.count, report.errors.length);
      assert.ok(report.count <= 257, `at most 256 refusals queued plus one summary; ${summary}`);
      for (const e of report.errors) {
        assert.equal(e.json, JSON.stringify(SE.EVENT), summary);
        assert.equal(e.name, 'BusinessError');
        assert.equal(typeof e.detail, 'string');
        assert.equal(e.detailEnumerable, false);
      }
      const individual = report.errors.slice(0, -1);
      for (const e of individual) assert.match(e.detail, /127\.0\.0\.1/, 'a refusal names its client');
      const remainder = refused - individual.length;
      const last = report.errors.at(-1).detail;
      t.diagnostic(`the last error's detail: ${JSON.stringify(last)}`);
      assert.match(last, new RegExp(`(^|[^\\d.:])${remainder}(?![\\d.:])`), `the last error's detail counts the ${remainder} not reported one by one (${refused} − ${individual.length}): ${JSON.stringify(last)}`);
      assertGrowth(busy, report.mem, { rssMiB: 64 }, summary);
    } finally {
      held?.destroy();
      await child.end();
    }
  });
});
