export { createMergeCrmClient } from "./client.js";
export type { ClientOptions, MergeCrmClient } from "./client.js";
export type { AccountDescription, AccountField } from "./account-fields.js";
export type { AccountValidationMode } from "./account-validation.js";
export type {
  AccountTokenMode,
  CreateOptions,
  DescribeOptions,
  EngagementsResource,
  OptionsArg,
  RequestOptions,
  UpdateOptions,
  WriteOptions,
} from "./engagements.js";
export type {
  EngagementExpand,
  ListEngagementsQuery,
  RemoteFieldClassesQuery,
  RetrieveEngagementQuery,
} from "./query.js";
export type { EngagementInput, WithDates } from "./dates.js";
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
export type { Logger } from "./logger.js";
export { isRegion, REGION_BASE_URLS } from "./regions.js";
export type { Region } from "./regions.js";
export type { FetchLike, ResponseInfo } from "./request.js";
export type { ResponseValidationMode } from "./validation.js";
export type {
  Account,
  components,
  Contact,
  DebugModeLog,
  Direction,
  Engagement,
  EngagementAddedEvent,
  EngagementChangedEvent,
  EngagementEndpointRequest,
  EngagementRemovedEvent,
  EngagementRequest,
  EngagementResponse,
  EngagementType,
  ErrorResponse,
  LinkedAccountFullySyncedInitialEvent,
  LinkedAccountStatus,
  LinkedAccountSyncedEvent,
  MetaResponse,
  operations,
  PaginatedEngagementList,
  PaginatedRemoteFieldClassList,
  PatchedEngagementRequest,
  paths,
  RemoteField,
  RemoteFieldClass,
  RemoteFieldRequest,
  SyncStatus,
  User,
  ValidationProblem,
  WebhookEvent,
  WebhookHook,
  WebhookLinkedAccount,
  webhooks,
} from "./types.js";
