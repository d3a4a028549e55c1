/**
 * The Responses API flavour of the standalone mock (`POST /v1/responses`), a step toward
 * passing /v1/responses through to OpenAI-type providers (issue 18). The request is answered
 * by the same engine as chat: translated with the gateway's own Responses translators, so the
 * mock says, item for item and event for event, what the gateway's translated surface says.
 * Stateless: `previous_response_id` is refused, and nothing is stored.
 */
import { isSluiceError } from '../errors.js';
import type { JsonObject } from '../providers/types.js';
import { chatBody, responsesRequestToTurn } from '../surfaces/responses/request.js';
import { chatCompletionToResponse, itemId, type ResponseHead } from '../surfaces/responses/response.js';
import { ChatToResponsesStream } from '../surfaces/responses/stream.js';
import { openAiError } from './engine.js';
import { json, type MockRoute } from './flavour.js';

const responses: MockRoute = {
  faultBody: (engine, status) => engine.errorBody(status),
  invalidBody: () => openAiError('We could not parse the JSON body of your request.', 'invalid_request_error'),
  answer(engine, body) {
    let chat: JsonObject;
    let head: ResponseHead;
    try {
      const turn = responsesRequestToTurn(body);
      if (typeof turn.request.previous_response_id === 'string') return json(openAiError('The mock keeps no responses: previous_response_id is not supported.', 'invalid_request_error'), 400);
      chat = chatBody(turn, []);
      head = { id: itemId('resp'), createdAt: Math.floor(Date.now() / 1000), request: turn.request, store: false };
    } catch (err) {
      if (isSluiceError(err)) return json(err.toBody(), err.status);
      throw err;
    }
    if (chat.stream !== true) return json(chatCompletionToResponse(engine.chatCompletion(chat), head, 'mock'));
    const stream = new ChatToResponsesStream(head);
    const frames = engine.chatChunks(chat, true).map((chunk) => stream.push(JSON.stringify(chunk)));
    return { kind: 'sse', frames, trailer: stream.finish().sse };
  },
};

export function responsesRoute(path: string): MockRoute | null {
  return path === '/v1/responses' ? responses : null;
}
