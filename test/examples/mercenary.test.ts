import { test } from 'node:test';
import { assertScenarioPasses } from '../helpers/scenarios.js';

test('the mercenary seed system on Sluice (short run)', () => assertScenarioPasses('mercenary'));
