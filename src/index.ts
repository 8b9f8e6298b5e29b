/**
 * `merge-crm-engagements`: the client of Merge's CRM Engagements API (`createMergeCrmClient`), its
 * typed errors, the models' types from the spec, and validation. Every layer (`/bulk`, `/queue`,
 * `/webhooks`, `/sync`, `/mirror`, `/undici`, `/mock`) is an entry of its own over these exports.
 *
 * @module merge-crm-engagements
 */
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
export type { ContactsResource } from "./core/resources/contacts.js";
export type { UsersResource } from "./core/resources/users.js";
export type { AccountsResource } from "./core/resources/accounts.js";
export type { EngagementTypesResource } from "./core/resources/engagement-types.js";
export type { AccountDetailsResource } from "./core/resources/account-details.js";
export type {
  AccountReference,
  ActivityType,
  ContactReference,
  EngagementDraft,
  EngagementTypeReference,
  MissingContacts,
  OwnerReference,
} from "./core/references/drafts.js";
export type { LookupRequest, RequestWrapper, ResolveOptions } from "./core/references/resolver.js";
export { isMissingContacts, isResolved } from "./core/references/drafts.js";
export type {
  EngagementExpand,
  ListAccountsQuery,
  ListContactsQuery,
  ListEngagementsQuery,
  ListEngagementTypesQuery,
  ListUsersQuery,
  RemoteFieldClassesQuery,
  RetrieveAccountQuery,
  RetrieveContactQuery,
  RetrieveEngagementQuery,
  RetrieveEngagementTypeQuery,
  RetrieveUserQuery,
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
  MergeReferenceError,
  MergeResponseValidationError,
  MergeServerError,
  MergeTimeoutError,
  MergeUnprocessableError,
  MergeValidationError,
  isMergeApiError,
  isMergeConnectionError,
  isMergeError,
  isMergeReferenceError,
  isMergeTimeoutError,
  isMergeValidationError,
} from "./core/errors.js";
export type { MergeApiErrorInit, MergeErrorOptions, ReferenceIssue, ReferenceKind, ValidationIssue } from "./core/errors.js";
export type { Logger } from "./core/logger.js";
export { isRegion, REGION_BASE_URLS } from "./core/regions.js";
export type { Region } from "./core/regions.js";
export type { FetchLike, ResponseInfo } from "./core/request.js";
export type { ResponseValidationMode } from "./core/validation/spec-validators.js";
export type {
  Account,
  AccountDetails,
  Address,
  AddressRequest,
  components,
  Contact,
  ContactEndpointRequest,
  ContactRequest,
  ContactResponse,
  EmailAddress,
  EmailAddressRequest,
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
  PaginatedAccountList,
  PaginatedContactList,
  PaginatedEngagementList,
  PaginatedEngagementTypeList,
  PaginatedRemoteFieldClassList,
  PaginatedUserList,
  PatchedEngagementRequest,
  paths,
  PhoneNumber,
  PhoneNumberRequest,
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
