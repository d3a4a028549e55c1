/**
 * The OpenAI wire flavour of the standalone mock: `/v1/chat/completions`, `/v1/completions`
 * and `/v1/embeddings`, and the same endpoints under Azure OpenAI's paths
 * (`/openai/deployments/{deployment}/…?api-version=…`, where the deployment names the model).
 */
import type { JsonObject } from '../providers/types.js';
import { chatRefusal, openAiError } from './engine.js';
import { dataFrames } from './http.js';
import { json, type MockRoute } from './flavour.js';

type Op = 'chat' | 'completions' | 'embeddings';

const OPENAI_PATHS: Readonly<Record<string, Op>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};
const AZURE_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;

const openAIErrors: Pick<MockRoute, 'faultBody' | 'invalidBody'> = {
  faultBody: (engine, status) => engine.errorBody(status),
  invalidBody: () => openAiError('We could not parse the JSON body of your request.', 'invalid_request_error'),
};

function route(op: Op, deployment: string | null): MockRoute {
  return {
    ...openAIErrors,
    answer(engine, body) {
      // Azure takes the model from the deployment; the body's model is optional there.
      const b: JsonObject = deployment !== null && typeof body.model !== 'string' ? { ...body, model: deployment } : body;
      if (op === 'embeddings') return json(engine.embeddings(b));
      const isChat = op === 'chat';
      const refusal = isChat ? chatRefusal(b) : null;
      if (refusal !== null) return json({ error: { message: refusal.message, type: 'invalid_request_error', param: refusal.param, code: refusal.kind === 'modality' ? 'unsupported_modality' : 'invalid_value' } }, 400);
      if (b.stream !== true) return json(isChat ? engine.chatCompletion(b) : engine.completion(b));
      const so = b.stream_options;
      const includeUsage = typeof so === 'object' && so !== null && (so as JsonObject).include_usage === true;
      const chunks: object[] = isChat ? engine.chatChunks(b, includeUsage) : engine.completionChunks(b, includeUsage);
      return { kind: 'sse', frames: dataFrames(chunks), trailer: 'data: [DONE]\n\n' };
    },
  };
}

/** Azure answers a request without `api-version` with a 404; so does the mock. */
const missingApiVersion: MockRoute = {
  ...openAIErrors,
  answer: () => json({ error: { code: '404', message: 'Resource not found' } }, 404),
};

export function openAIRoute(path: string, query: URLSearchParams): MockRoute | null {
  const op = OPENAI_PATHS[path];
  if (op !== undefined) return route(op, null);
  const azure = AZURE_PATH.exec(path);
  if (azure === null) return null;
  if (!query.has('api-version')) return missingApiVersion;
  return route(azure[2] === 'chat/completions' ? 'chat' : (azure[2] as Op), decodeURIComponent(azure[1]!));
}
