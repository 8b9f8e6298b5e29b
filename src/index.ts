export { createMergeCrmClient } from "./client.js";
export type { ClientOptions, MergeCrmClient } from "./client.js";
export type { AccountTokenMode, CreateOptions, EngagementsResource, OptionsArg, RequestOptions } from "./engagements.js";
export {
  MergeApiError,
  MergeAuthenticationError,
  MergeBadRequestError,
  MergeConflictError,
  MergeConnectionError,
  MergeError,
  MergeNotFoundError,
  MergePermissionError,
  MergeRateLimitError,
  MergeResponseValidationError,
  MergeServerError,
  MergeTimeoutError,
  MergeUnprocessableError,
  MergeValidationError,
  isMergeApiError,
  isMergeConnectionError,
  isMergeError,
  isMergeTimeoutError,
  isMergeValidationError,
} from "./errors.js";
export type { MergeApiErrorInit, MergeErrorOptions, ValidationIssue } from "./errors.js";
export { isRegion, REGION_BASE_URLS } from "./regions.js";
export type { Region } from "./regions.js";
export type { FetchLike } from "./request.js";
export type {
  components,
  DebugModeLog,
  Direction,
  Engagement,
  EngagementEndpointRequest,
  EngagementRequest,
  EngagementResponse,
  ErrorResponse,
  operations,
  paths,
  RemoteField,
  RemoteFieldClass,
  RemoteFieldRequest,
  ValidationProblem,
} from "./types.js";
