import { test } from 'node:test';
import { assertScenarioPasses } from '../helpers/scenarios.js';

test('the snapfix seed system on Sluice (short run)', () => assertScenarioPasses('snapfix'));
