import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { clientAddressing } from '../../src/edge/client-address.js';

/** A request as node:http gives it: the peer on the socket, forwarding headers as sent. */
function req(peer: string, xff?: string): IncomingMessage {
  return { socket: { remoteAddress: peer }, connection: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as unknown as IncomingMessage;
}

describe('client address under server.trustProxy, computed once (edge/client-address.ts)', () => {
  test('peerTrusted: booleans, hop counts, addresses, CIDRs and named ranges', () => {
    assert.equal(clientAddressing(false).peerTrusted('127.0.0.1'), false);
    assert.equal(clientAddressing(true).peerTrusted('203.0.113.1'), true);
    assert.equal(clientAddressing(1).peerTrusted('203.0.113.1'), true);
    assert.equal(clientAddressing(0).peerTrusted('203.0.113.1'), false);
    const list = clientAddressing(['10.0.0.0/8', '192.0.2.7', 'loopback', 'fd00::/8']).peerTrusted;
    assert.equal(list('10.1.2.3'), true);
    assert.equal(list('::ffff:10.1.2.3'), true);
    assert.equal(list('192.0.2.7'), true);
    assert.equal(list('192.0.2.8'), false);
    assert.equal(list('127.0.0.1'), true);
    assert.equal(list('::1'), true);
    assert.equal(list('fd12::1'), true);
    assert.equal(list('203.0.113.1'), false);
    assert.equal(list(''), false);
  });

  test('address: false takes the socket peer and ignores forwarding headers', () => {
    assert.equal(clientAddressing(false).address(req('127.0.0.1', '198.51.100.7')), '127.0.0.1');
  });

  test('address: true takes the leftmost forwarded address', () => {
    assert.equal(clientAddressing(true).address(req('127.0.0.1', '198.51.100.7, 10.0.0.1')), '198.51.100.7');
  });

  test('address: a hop count believes that many proxies, counting the peer', () => {
    const one = clientAddressing(1).address;
    assert.equal(one(req('127.0.0.1', '198.51.100.7, 10.0.0.1')), '10.0.0.1');
    assert.equal(clientAddressing(2).address(req('127.0.0.1', '198.51.100.7, 10.0.0.1')), '198.51.100.7');
    assert.equal(one(req('127.0.0.1')), '127.0.0.1');
  });

  test('address: a list believes only proxies on it, walking from the peer', () => {
    const trusted = clientAddressing(['loopback', '10.0.0.0/8']).address;
    assert.equal(trusted(req('127.0.0.1', '198.51.100.7, 10.0.0.1')), '198.51.100.7');
    assert.equal(trusted(req('127.0.0.1', '198.51.100.7, 203.0.113.9')), '203.0.113.9');
    assert.equal(clientAddressing(['10.0.0.0/8']).address(req('127.0.0.1', '198.51.100.7')), '127.0.0.1');
  });
});
