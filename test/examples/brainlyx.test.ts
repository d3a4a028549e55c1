import { test } from 'node:test';
import { assertScenarioPasses } from '../helpers/scenarios.js';

test('the brainlyx seed system on Sluice (short run)', () => assertScenarioPasses('brainlyx'));
