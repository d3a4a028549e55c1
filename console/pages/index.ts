import type { Page } from './page.js';
import { trafficPage, targetsPage, queuesPage, limitsPage } from './live.js';
import { usagePage, keysPage, cachePage, configPage, auditPage } from './manage.js';
import { sessionsPage } from './sessions.js';

export type { Page };

export const PAGES: readonly Page[] = [trafficPage, targetsPage, queuesPage, limitsPage, usagePage, keysPage, sessionsPage, cachePage, configPage, auditPage];
