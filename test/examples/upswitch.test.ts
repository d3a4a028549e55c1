import { test } from 'node:test';
import { assertScenarioPasses } from '../helpers/scenarios.js';

test('the upswitch seed system on Sluice (short run)', () => assertScenarioPasses('upswitch'));
