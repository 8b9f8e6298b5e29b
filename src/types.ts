/**
 * Friendly names for the API's models. Every type here is an alias of `generated/schema.d.ts`, which
 * openapi-typescript compiles from the spec in `openapi/`: nothing is copied by hand.
 */
import type { components, operations, paths } from "../generated/schema.js";

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
/** The JSON body of a failed request. */
export type ErrorResponse = Schemas["ErrorResponse"];

export type { components, operations, paths };
