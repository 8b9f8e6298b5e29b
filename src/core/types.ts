/**
 * Friendly names for the API's models. Every type here is an alias of `generated/schema.d.ts`, which
 * openapi-typescript compiles from the spec in `openapi/`: nothing is copied by hand.
 */
import type { components, operations, paths, webhooks } from "../../generated/schema.js";

type Schemas = components["schemas"];

/** The writable fields of an engagement, as sent to `POST /crm/v1/engagements`. */
export type EngagementRequest = Schemas["EngagementRequest"];
/** The body of `POST /crm/v1/engagements`: the engagement wrapped in `model`. */
export type EngagementEndpointRequest = Schemas["EngagementEndpointRequest"];
/** An engagement as the API returns it. */
export type Engagement = Schemas["Engagement"];
/** The answer to a write: `{ model, warnings, errors, logs? }`. */
export type EngagementResponse = Schemas["EngagementResponse"];
/** `INBOUND` or `OUTBOUND`. Responses may carry other strings too. */
export type Direction = Schemas["Direction"];
/** A remote field value as written: its class by id, and the value. */
export type RemoteFieldRequest = Schemas["RemoteFieldRequest"];
/** A remote field value as read: its full class, and the value. */
export type RemoteField = Schemas["RemoteField"];
/** A field of the CRM's own model. */
export type RemoteFieldClass = Schemas["RemoteFieldClass"];
/** A problem Merge reports in `warnings` or `errors`. */
export type ValidationProblem = Schemas["ValidationProblem"];
/** One third-party request Merge made, returned in `logs` in debug mode. */
export type DebugModeLog = Schemas["DebugModeLog"];
/** The changes of `PATCH /crm/v1/engagements/{id}`: the same fields as `EngagementRequest`. */
export type PatchedEngagementRequest = Schemas["PatchedEngagementRequest"];
/** One page of engagements. */
export type PaginatedEngagementList = Schemas["PaginatedEngagementList"];
/** One page of remote field classes. */
export type PaginatedRemoteFieldClassList = Schemas["PaginatedRemoteFieldClassList"];
/** What a write accepts for a linked account. */
export type MetaResponse = Schemas["MetaResponse"];
/** The state of a linked account. */
export type LinkedAccountStatus = Schemas["LinkedAccountStatus"];
/** A CRM user, from `GET /crm/v1/users`, or as `owner` with `expand=owner`. */
export type User = Schemas["User"];
/** A CRM account (a company), from `GET /crm/v1/accounts`, or as `account` with `expand=account`. */
export type Account = Schemas["Account"];
/** A contact, from `GET /crm/v1/contacts`, or as an item of `contacts` with `expand=contacts`. */
export type Contact = Schemas["Contact"];
/** An engagement type, from `GET /crm/v1/engagement-types`, or as `engagement_type` with `expand=engagement_type`. */
export type EngagementType = Schemas["EngagementType"];
/** The writable fields of a contact, as sent to `POST /crm/v1/contacts`. */
export type ContactRequest = Schemas["ContactRequest"];
/** The body of `POST /crm/v1/contacts`: the contact wrapped in `model`. */
export type ContactEndpointRequest = Schemas["ContactEndpointRequest"];
/** The answer to a contact create: `{ model, warnings, errors, logs? }`. */
export type ContactResponse = Schemas["ContactResponse"];
/** An email address of a contact, as read. */
export type EmailAddress = Schemas["EmailAddress"];
/** An email address of a contact, as written. */
export type EmailAddressRequest = Schemas["EmailAddressRequest"];
/** A phone number of a contact or an account, as read. */
export type PhoneNumber = Schemas["PhoneNumber"];
/** A phone number of a contact, as written. */
export type PhoneNumberRequest = Schemas["PhoneNumberRequest"];
/** A postal address of a contact or an account, as read. */
export type Address = Schemas["Address"];
/** A postal address of a contact, as written. */
export type AddressRequest = Schemas["AddressRequest"];
/** One page of contacts. */
export type PaginatedContactList = Schemas["PaginatedContactList"];
/** One page of CRM users. */
export type PaginatedUserList = Schemas["PaginatedUserList"];
/** One page of CRM accounts. */
export type PaginatedAccountList = Schemas["PaginatedAccountList"];
/** One page of engagement types. */
export type PaginatedEngagementTypeList = Schemas["PaginatedEngagementTypeList"];
/** The linked account of an account token, from `GET /crm/v1/account-details`: its `id` is webhooks' `linked_account.id`. */
export type AccountDetails = Schemas["AccountDetails"];
/** The JSON body of a failed request. */
export type ErrorResponse = Schemas["ErrorResponse"];

/** What every webhook delivery carries: `{ hook, linked_account, data }`, `data` of any shape. */
export type WebhookEvent = Schemas["WebhookEvent"];
/** Which webhook fired: `{ id, event, target }` (`id` names the configuration, not the delivery). */
export type WebhookHook = Schemas["WebhookHook"];
/** The linked account a webhook delivery is about. */
export type WebhookLinkedAccount = Schemas["WebhookLinkedAccount"];
/** The sync state of one model, the `data` of `LinkedAccount.synced`. */
export type SyncStatus = Schemas["SyncStatus"];
/** `Engagement.added`: `data` is the engagement. */
export type EngagementAddedEvent = Schemas["EngagementAddedEvent"];
/** `Engagement.changed`: `data` is the engagement after the change. */
export type EngagementChangedEvent = Schemas["EngagementChangedEvent"];
/** `Engagement.removed`: `data` is the engagement as last seen. */
export type EngagementRemovedEvent = Schemas["EngagementRemovedEvent"];
/** `LinkedAccount.synced`: `data` is a `SyncStatus`. */
export type LinkedAccountSyncedEvent = Schemas["LinkedAccountSyncedEvent"];
/** `LinkedAccount.fully_synced_initial`: `data` is a `SyncStatus`. */
export type LinkedAccountFullySyncedInitialEvent = Schemas["LinkedAccountFullySyncedInitialEvent"];

export type { components, operations, paths, webhooks };
