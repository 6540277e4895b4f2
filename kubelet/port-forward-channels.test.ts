// The port query of a WebSocket port-forward, read as Kubernetes' kubelet (NewV4Options) reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelPorts } from './port-forward-channels.ts';

const q = (s: string) => new URLSearchParams(s);

test('port parameters: repeated or comma-separated; missing, empty, unparsable and zero ports are refused with the kubelet\'s words', () => {
  assert.deepEqual(channelPorts(q('port=8080&port=9000,9001')), [8080, 9000, 9001]);
  assert.equal(channelPorts(q('')), 'query parameter "port" is required');
  assert.equal(channelPorts(q('port=')), 'query parameter "port" cannot be empty');
  assert.equal(channelPorts(q('port=http')), 'unable to parse "http" as a port: strconv.ParseUint: parsing "http": invalid syntax');
  assert.equal(channelPorts(q('port=70000')), 'unable to parse "70000" as a port: strconv.ParseUint: parsing "70000": value out of range');
  assert.equal(channelPorts(q('port=0')), 'port "0" must be > 0');
});
