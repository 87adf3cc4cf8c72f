#!/usr/bin/env node
// drive.js PORT WRITE_KEY PREFIX COUNT OUT — sends COUNT mixed messages through each official SDK
// (@segment/analytics-node, @rudderstack/rudder-sdk-node, unmodified, pointed at the sidecar)
// and writes one JSON line per distinct message to OUT: what test/e2e/collect_sdk.t expects
// stored. Every message has an explicit messageId and a past timestamp; identities rotate
// between userId only, anonymousId only and both. Every 20th message is sent a second time with
// the same messageId (a client retry), which must be stored once. Exits 1 if an SDK reports a
// delivery error.
'use strict';
const fs = require('fs');
const { Analytics: Segment } = require('@segment/analytics-node');
const Rudder = require('@rudderstack/rudder-sdk-node');

const [port, writeKey, prefix, countText, outPath] = process.argv.slice(2);
const count = Number(countText);
const host = `http://127.0.0.1:${port}`;
const types = ['track', 'identify', 'page', 'group', 'alias', 'track', 'screen'];
const out = fs.createWriteStream(outPath);
let errors = 0;

function message(sdk, i) {
	let type = types[i % types.length];
	if (type === 'screen' && sdk === 'rudder') type = 'page';
	const id = `${prefix}-${sdk}-${i}`;
	const m = { messageId: id };
	const who = i % 3; // 0 userId, 1 anonymousId, 2 both
	if (who !== 1 || type === 'alias') m.userId = `${prefix}-user-${i % 97}`;
	if (who !== 0 && type !== 'alias') m.anonymousId = `${prefix}-anon-${i % 89}`;
	// Past: up to 40 days back, whole milliseconds.
	const when = new Date(Date.now() - (i % 41) * 86400000 - (i % 1000) * 1000);
	const payload = { i, sdk };
	if (type === 'track') {
		m.event = `${prefix} Order ${i % 5}`;
		m.properties = payload;
	} else if (type === 'identify') {
		m.traits = payload;
	} else if (type === 'page' || type === 'screen') {
		m.name = `${prefix} Home`;
		m.properties = payload;
	} else if (type === 'group') {
		m.groupId = `${prefix}-group-${i % 7}`;
		m.traits = payload;
	} else {
		m.previousId = `${prefix}-prev-${i}`;
	}
	m.context = { test: prefix };
	return { type, m, when };
}

function expectation(sdk, { type, m, when }) {
	return {
		messageId: m.messageId,
		event_type: type === 'track' ? m.event : type,
		event_category: { track: 'user_action', page: 'page_view', screen: 'page_view' }[type] || 'user_lifecycle',
		type,
		user_id: m.userId || m.anonymousId,
		anonymousId: m.anonymousId || null,
		i: type === 'alias' ? null : (m.properties || m.traits).i,
		timestamp_ms: when.getTime(),
		groupId: m.groupId || null,
		previousId: m.previousId || null,
		name: m.name || null,
		sdk,
	};
}

async function segment() {
	const a = new Segment({ writeKey, host, flushAt: 100, flushInterval: 200, maxRetries: 3 });
	a.on('error', (e) => {
		errors++;
		console.error('segment error:', e && (e.reason || e.message || e));
	});
	for (let i = 0; i < count; i++) {
		const msg = message('segment', i);
		const sends = i % 20 === 0 ? 2 : 1;
		for (let s = 0; s < sends; s++) {
			const args = { ...msg.m, timestamp: msg.when };
			a[msg.type](args);
		}
		out.write(JSON.stringify(expectation('segment', msg)) + '\n');
	}
	await a.closeAndFlush({ timeout: 60000 });
}

async function rudder() {
	const r = new Rudder(writeKey, { dataPlaneUrl: host, flushAt: 100, flushInterval: 200, logLevel: 'error' });
	const pending = [];
	for (let i = 0; i < count; i++) {
		const msg = message('rudder', i);
		const sends = i % 20 === 0 ? 2 : 1;
		for (let s = 0; s < sends; s++) {
			pending.push(
				new Promise((resolve) => {
					r[msg.type]({ ...msg.m, originalTimestamp: msg.when }, (err) => {
						if (err) {
							errors++;
							console.error('rudder error:', err.message || err);
						}
						resolve();
					});
				}),
			);
		}
		out.write(JSON.stringify(expectation('rudder', msg)) + '\n');
	}
	await r.flush().catch((e) => {
		errors++;
		console.error('rudder flush:', e.message || e);
	});
	await Promise.all(pending);
}

(async () => {
	await segment();
	await rudder();
	out.end();
	await new Promise((resolve) => out.on('finish', resolve));
	process.exit(errors > 0 ? 1 : 0);
})().catch((e) => {
	console.error(e);
	process.exit(1);
});
