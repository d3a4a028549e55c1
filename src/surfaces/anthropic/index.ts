/**
 * Sluice's Anthropic Messages surface (`POST /v1/messages`), as pure translators between the
 * Anthropic wire format and the OpenAI chat body the gateway routes:
 *
 *   request:  anthropicRequestToOpenAI(body) → OpenAI chat body (validates; throws SluiceError)
 *   answer:   openAIResponseToAnthropic(chatCompletion, requestedModel) → Anthropic message
 *   stream:   new OpenAIToAnthropicStream(requestedModel): push(chunkJson) / finish() → SSE text
 *   errors:   anthropicErrorBody(err) / anthropicErrorEvent(err)
 */
export { anthropicRequestToOpenAI, Refusals } from './request.js';
export { anthropicRequestSchema, parseAnthropicRequest, type AnthropicRequest } from './schema.js';
export { openAIResponseToAnthropic, anthropicUsageFromOpenAI, stopReasonFromOpenAI } from './response.js';
export { OpenAIToAnthropicStream, anthropicEvent } from './stream.js';
export { anthropicErrorBody, anthropicErrorEvent, anthropicErrorType, type AnthropicErrorBody } from './errors.js';
