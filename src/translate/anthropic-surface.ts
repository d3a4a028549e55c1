/**
 * Sluice's Anthropic Messages surface (`POST /v1/messages`), as pure translators between the
 * Anthropic wire format and the OpenAI chat body the gateway routes:
 *
 *   request:  anthropicRequestToOpenAI(body) → OpenAI chat body (validates; throws SluiceError)
 *   answer:   openAIResponseToAnthropic(chatCompletion, requestedModel) → Anthropic message
 *   stream:   new OpenAIToAnthropicStream(requestedModel): push(chunkJson) / finish() → SSE text
 *   errors:   anthropicErrorBody(err) / anthropicErrorEvent(err)
 */
export { anthropicRequestToOpenAI } from './anthropic-surface/request.js';
export { anthropicRequestSchema, parseAnthropicRequest, type AnthropicRequest } from './anthropic-surface/schema.js';
export { openAIResponseToAnthropic, anthropicUsageFromOpenAI, stopReasonFromOpenAI } from './anthropic-surface/response.js';
export { OpenAIToAnthropicStream, anthropicEvent } from './anthropic-surface/stream.js';
export { anthropicErrorBody, anthropicErrorEvent, anthropicErrorType, type AnthropicErrorBody } from './anthropic-surface/errors.js';
