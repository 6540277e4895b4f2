import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTerminalSize } from './remote-command.ts';

test('a resize message is kubectl\'s {"Width","Height"}; anything else is ignored', () => {
  assert.deepEqual(parseTerminalSize('{"Width":80,"Height":24}'), { width: 80, height: 24 });
  assert.equal(parseTerminalSize('{"Width":0,"Height":24}'), undefined);
  assert.equal(parseTerminalSize('{"width":80}'), undefined);
  assert.equal(parseTerminalSize('not json'), undefined);
});
