import { test } from 'node:test';
import { assertScenarioPasses } from '../helpers/scenarios.js';

test('the brand-ranker seed system on Sluice (short run)', () => assertScenarioPasses('brand-ranker'));
