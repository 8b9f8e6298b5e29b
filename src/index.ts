export { createMergeCrmClient } from "./core/client.js";
export type { ClientOptions, MergeCrmClient } from "./core/client.js";
export type { AccountDescription, AccountField } from "./core/validation/form-fields.js";
export type { AccountValidationMode } from "./core/validation/account-validation.js";
export type {
  AccountCheckOptions,
  AccountTokenMode,
  CreateOptions,
  DescribeOptions,
  EngagementsResource,
  OptionsArg,
  RequestOptions,
  UpdateOptions,
  WriteOptions,
} from "./core/resources/engagements.js";
export type {
  EngagementExpand,
  ListEngagementsQuery,
  RemoteFieldClassesQuery,
  RetrieveEngagementQuery,
} from "./core/query.js";
export type { EngagementInput, WithDates } from "./core/dates.js";
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
} from "./core/errors.js";
export type { MergeApiErrorInit, MergeErrorOptions, ValidationIssue } from "./core/errors.js";
export type { Logger } from "./core/logger.js";
export { isRegion, REGION_BASE_URLS } from "./core/regions.js";
export type { Region } from "./core/regions.js";
export type { FetchLike, ResponseInfo } from "./core/request.js";
export type { ResponseValidationMode } from "./core/validation/spec-validators.js";
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
} from "./core/types.js";
