import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestMetrics } from './metrics.ts';

test('request metrics: counts by verb, resource and code, a sum-and-count latency summary, open watches', async () => {
  const m = new RequestMetrics();
  m.observe('GET', 'pods', 200, 250);
  m.observe('GET', 'pods', 200, 250);
  m.observe('POST', 'pods', 201, 1000);
  m.watches = 2;
  const text = await m.render();
  assert.match(text, /^# TYPE apiserver_request_total counter$/m);
  assert.match(text, /^apiserver_request_total\{verb="GET",resource="pods",code="200"\} 2$/m);
  assert.match(text, /^apiserver_request_total\{verb="POST",resource="pods",code="201"\} 1$/m);
  assert.match(text, /^# TYPE apiserver_request_duration_seconds summary$/m);
  assert.match(text, /^apiserver_request_duration_seconds_sum\{verb="GET",resource="pods"\} 0\.5$/m);
  assert.match(text, /^apiserver_request_duration_seconds_count\{verb="GET",resource="pods"\} 2$/m);
  assert.doesNotMatch(text, /quantile=/);
  assert.match(text, /^# TYPE apiserver_longrunning_requests gauge$/m);
  assert.match(text, /^apiserver_longrunning_requests\{verb="WATCH"\} 2$/m);
  // Each apiserver has its own registry: a second one starts from nothing.
  assert.doesNotMatch(await new RequestMetrics().render(), /apiserver_request_total\{/);
});
