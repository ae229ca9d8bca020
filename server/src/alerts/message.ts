/** The human-readable form of a notification: e-mail subject and body. */
import type { Notification } from './notifier.js';

const TITLE: Record<Notification['event'], string> = { raised: 'ALERT', resolved: 'RESOLVED', test: 'TEST' };

export function mailSubject(n: Notification): string {
  // Subjects are one header line: an alert's subject never carries a newline into it.
  return `[Strata ${n.server.name}] ${TITLE[n.event]}: ${n.alert.subject}`.replace(/[\r\n]+/g, ' ');
}

export function mailText(n: Notification): string {
  const a = n.alert;
  const lines = [
    n.event === 'test'
      ? `This is a test message from the Strata server ${n.server.name}: this channel works.`
      : n.event === 'raised'
        ? `The Strata server ${n.server.name} raised an alert.`
        : `The Strata server ${n.server.name} resolved an alert: the condition has cleared.`,
    '',
    `Subject:   ${a.subject}`,
    `Kind:      ${a.kind} (${a.severity})`,
    `State:     ${a.state}`,
    `Raised:    ${a.raisedAt}`,
    ...(a.resolvedAt ? [`Resolved:  ${a.resolvedAt}`] : []),
    `Alert id:  ${a.id}`,
    `Key:       ${a.key}`,
    '',
    a.message,
  ];
  if (a.details !== null && a.details !== undefined) lines.push('', 'Details:', JSON.stringify(a.details, null, 2));
  lines.push('', `See it with: strata alerts list --all`);
  return lines.join('\n') + '\n';
}
