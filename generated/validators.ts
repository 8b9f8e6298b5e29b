/**
 * Request and response validators, compiled ahead of time from the spec.
 * Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
 */

import * as r from "../src/validation-runtime.js";
import type { Check, Problem } from "../src/validation-runtime.js";

function f1(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.format(d, p, o, "date-time");
}
function f2(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
}
function f3(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["integer"])) return;
  r.range(d, p, o, 1, 100);
}
function f5(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.oneOfValues(d, p, o, ["account","contacts","engagement_type","owner"]);
}
function f4(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, f5, true);
}
function f6(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["boolean"])) return;
}
const P_f0: Readonly<Record<string, Check>> = { "created_after": f1, "created_before": f1, "modified_after": f1, "modified_before": f1, "started_after": f1, "started_before": f1, "cursor": f2, "page_size": f3, "expand": f4, "include_deleted_data": f6, "include_remote_data": f6, "include_remote_fields": f6, "include_shell_data": f6, "remote_id": f2 };
function f0(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f0, [], undefined);
}
function f8(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.length(d, p, o, 1, Infinity);
}
const P_f7: Readonly<Record<string, Check>> = { "X-Account-Token": f8 };
function f7(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f7, ["X-Account-Token"], undefined);
}
function f9(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string","null"])) return;
}
function f11(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.format(d, p, o, "uuid");
}
function f13(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["boolean","null"])) return;
}
const P_s_User: Readonly<Record<string, Check>> = { "id": f11, "remote_id": f9, "created_at": f1, "modified_at": f1, "remote_was_deleted": f6, "name": f9, "email": f9, "is_active": f13 };
function s_User(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_User, [], undefined);
}
function f14(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["null"])) return;
}
function f12(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [f11, s_User, f14]);
}
function s_Direction(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.oneOfValues(d, p, o, ["INBOUND","OUTBOUND"]);
}
function f15(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [s_Direction, f2, f14]);
}
function f18(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.oneOfValues(d, p, o, ["CALL","MEETING","EMAIL"]);
}
function f17(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [f18, f2, f14]);
}
const P_s_EngagementType: Readonly<Record<string, Check>> = { "id": f11, "remote_id": f9, "created_at": f1, "modified_at": f1, "remote_was_deleted": f6, "activity_type": f17, "name": f9 };
function s_EngagementType(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_EngagementType, [], undefined);
}
function f16(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [f11, s_EngagementType, f14]);
}
function f19(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string","null"])) return;
  r.format(d, p, o, "date-time");
}
function f21(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string","null"])) return;
  r.format(d, p, o, "uuid");
}
function f22(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["integer","null"])) return;
}
const P_s_Account: Readonly<Record<string, Check>> = { "id": f11, "remote_id": f9, "created_at": f1, "modified_at": f1, "remote_was_deleted": f6, "owner": f21, "name": f9, "description": f9, "industry": f9, "website": f9, "number_of_employees": f22, "last_activity_at": f19, "remote_created_at": f19 };
function s_Account(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_Account, [], undefined);
}
function f20(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [f11, s_Account, f14]);
}
const P_s_Contact: Readonly<Record<string, Check>> = { "id": f11, "remote_id": f9, "created_at": f1, "modified_at": f1, "remote_was_deleted": f6, "first_name": f9, "last_name": f9, "account": f21, "owner": f21, "last_activity_at": f19, "remote_created_at": f19 };
function s_Contact(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_Contact, [], undefined);
}
function f24(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [f11, s_Contact]);
}
function f23(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, f24, false);
}
function f25(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string","null"])) return;
  r.format(d, p, o, "uri");
}
const P_f26: Readonly<Record<string, Check>> = {  };
function f26(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f26, [], true);
}
const P_s_FieldMappings: Readonly<Record<string, Check>> = { "organization_defined_targets": f26, "linked_account_defined_targets": f26 };
function s_FieldMappings(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object","null"])) return;
  r.object(d, p, o, P_s_FieldMappings, [], undefined);
}
function f28(d: unknown, p: string, o: Problem[]): void { }
const P_s_RemoteData: Readonly<Record<string, Check>> = { "path": f2, "data": f28 };
function s_RemoteData(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_RemoteData, ["path"], undefined);
}
function f27(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array","null"])) return;
  r.array(d, p, o, s_RemoteData, false);
}
function s_RemoteFieldType(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.oneOfValues(d, p, o, ["string","number","date","datetime","bool","list"]);
}
function f30(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [s_RemoteFieldType, f2]);
}
function f31(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, f2, false);
}
const P_s_ItemSchema: Readonly<Record<string, Check>> = { "item_type": f30, "item_format": f30, "item_choices": f31 };
function s_ItemSchema(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_ItemSchema, [], undefined);
}
const P_s_RemoteFieldClass: Readonly<Record<string, Check>> = { "id": f2, "display_name": f2, "remote_key_name": f2, "description": f2, "is_custom": f6, "is_common_model_field": f6, "is_required": f6, "field_type": f30, "field_format": f30, "field_choices": f31, "item_schema": s_ItemSchema };
function s_RemoteFieldClass(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_RemoteFieldClass, [], undefined);
}
const P_s_RemoteField: Readonly<Record<string, Check>> = { "remote_field_class": s_RemoteFieldClass, "value": f28 };
function s_RemoteField(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_RemoteField, ["remote_field_class"], undefined);
}
function f29(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, s_RemoteField, false);
}
const P_s_Engagement: Readonly<Record<string, Check>> = { "id": f11, "remote_id": f9, "created_at": f1, "modified_at": f1, "owner": f12, "content": f9, "subject": f9, "direction": f15, "engagement_type": f16, "start_time": f19, "end_time": f19, "account": f20, "contacts": f23, "engagement_url": f25, "remote_was_deleted": f6, "field_mappings": s_FieldMappings, "remote_data": f27, "remote_fields": f29 };
function s_Engagement(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_Engagement, [], undefined);
}
function f10(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, s_Engagement, false);
}
const P_s_PaginatedEngagementList: Readonly<Record<string, Check>> = { "next": f9, "previous": f9, "results": f10 };
function s_PaginatedEngagementList(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_PaginatedEngagementList, ["results"], undefined);
}
const P_f32: Readonly<Record<string, Check>> = { "is_debug_mode": f6, "run_async": f6 };
function f32(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f32, [], undefined);
}
function f34(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["string"])) return;
  r.length(d, p, o, 1, 255);
}
const P_f33: Readonly<Record<string, Check>> = { "X-Account-Token": f8, "Idempotency-Key": f34 };
function f33(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f33, ["X-Account-Token"], undefined);
}
function f35(d: unknown, p: string, o: Problem[]): void {
  r.anyOf(d, p, o, [s_Direction, f14]);
}
function f36(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, f11, false);
}
const P_f37: Readonly<Record<string, Check>> = {  };
function f37(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object","null"])) return;
  r.object(d, p, o, P_f37, [], true);
}
const P_s_RemoteFieldRequest: Readonly<Record<string, Check>> = { "remote_field_class": f11, "value": f28 };
function s_RemoteFieldRequest(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_RemoteFieldRequest, ["remote_field_class"], undefined);
}
function f38(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, s_RemoteFieldRequest, false);
}
const P_s_EngagementRequest: Readonly<Record<string, Check>> = { "owner": f21, "content": f9, "subject": f9, "direction": f35, "engagement_type": f21, "start_time": f19, "end_time": f19, "account": f21, "contacts": f36, "engagement_url": f25, "integration_params": f37, "linked_account_params": f37, "remote_fields": f38 };
function s_EngagementRequest(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_EngagementRequest, [], undefined);
}
const P_s_EngagementEndpointRequest: Readonly<Record<string, Check>> = { "model": s_EngagementRequest };
function s_EngagementEndpointRequest(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_EngagementEndpointRequest, ["model"], undefined);
}
const P_s_ValidationProblemSource: Readonly<Record<string, Check>> = { "pointer": f2 };
function s_ValidationProblemSource(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_ValidationProblemSource, ["pointer"], undefined);
}
function f40(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["integer"])) return;
}
const P_s_ValidationProblem: Readonly<Record<string, Check>> = { "source": s_ValidationProblemSource, "title": f2, "detail": f2, "problem_type": f2, "block_merge_link": f6, "raw_error": f2, "error_code": f40 };
function s_ValidationProblem(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_ValidationProblem, ["title","detail","problem_type"], undefined);
}
function f39(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, s_ValidationProblem, false);
}
const P_s_DebugModelLogSummary: Readonly<Record<string, Check>> = { "url": f2, "method": f2, "status_code": f40 };
function s_DebugModelLogSummary(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_DebugModelLogSummary, ["url","method","status_code"], undefined);
}
const P_s_DebugModeLog: Readonly<Record<string, Check>> = { "log_id": f2, "dashboard_view": f2, "log_summary": s_DebugModelLogSummary };
function s_DebugModeLog(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_DebugModeLog, ["log_id","dashboard_view","log_summary"], undefined);
}
function f41(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, s_DebugModeLog, false);
}
const P_s_EngagementResponse: Readonly<Record<string, Check>> = { "model": s_Engagement, "warnings": f39, "errors": f39, "logs": f41 };
function s_EngagementResponse(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_EngagementResponse, ["model","warnings","errors"], undefined);
}
const P_f42: Readonly<Record<string, Check>> = { "expand": f4, "include_remote_data": f6, "include_remote_fields": f6, "include_shell_data": f6 };
function f42(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f42, [], undefined);
}
const P_f43: Readonly<Record<string, Check>> = { "id": f11 };
function f43(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f43, ["id"], undefined);
}
function s_PatchedEngagementRequest(d: unknown, p: string, o: Problem[]): void {
  s_EngagementRequest(d, p, o);
}
const P_s_PatchedEngagementEndpointRequest: Readonly<Record<string, Check>> = { "model": s_PatchedEngagementRequest };
function s_PatchedEngagementEndpointRequest(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_PatchedEngagementEndpointRequest, ["model"], undefined);
}
const P_s_LinkedAccountStatus: Readonly<Record<string, Check>> = { "linked_account_status": f2, "can_make_request": f6 };
function s_LinkedAccountStatus(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_LinkedAccountStatus, ["linked_account_status","can_make_request"], undefined);
}
const P_s_MetaResponse: Readonly<Record<string, Check>> = { "request_schema": f26, "status": s_LinkedAccountStatus, "has_conditional_params": f6, "has_required_linked_account_params": f6, "remote_fields": f36 };
function s_MetaResponse(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_MetaResponse, ["request_schema","has_conditional_params","has_required_linked_account_params"], undefined);
}
const P_f44: Readonly<Record<string, Check>> = { "cursor": f2, "page_size": f3, "include_deleted_data": f6, "include_remote_data": f6, "include_remote_fields": f6, "include_shell_data": f6, "is_common_model_field": f6, "is_custom": f6 };
function f44(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_f44, [], undefined);
}
function f45(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["array"])) return;
  r.array(d, p, o, s_RemoteFieldClass, false);
}
const P_s_PaginatedRemoteFieldClassList: Readonly<Record<string, Check>> = { "next": f9, "previous": f9, "results": f45 };
function s_PaginatedRemoteFieldClassList(d: unknown, p: string, o: Problem[]): void {
  if (!r.type(d, p, o, ["object"])) return;
  r.object(d, p, o, P_s_PaginatedRemoteFieldClassList, ["results"], undefined);
}

/** The operations of the spec, by operationId. */
export type OperationId = "engagementsList" | "engagementsCreate" | "engagementsRetrieve" | "engagementsPartialUpdate" | "engagementsMetaPostRetrieve" | "engagementsMetaPatchRetrieve" | "engagementsRemoteFieldClassesList";

/** The validators of each operation: its parameters by location, its JSON body, its 2xx bodies. */
export const operations: Readonly<Record<OperationId, OperationValidators>> = {
  engagementsList: { query: f0, header: f7, responses: { "200": s_PaginatedEngagementList } },
  engagementsCreate: { query: f32, header: f33, body: s_EngagementEndpointRequest, responses: { "201": s_EngagementResponse } },
  engagementsRetrieve: { query: f42, path: f43, header: f7, responses: { "200": s_Engagement } },
  engagementsPartialUpdate: { query: f32, path: f43, header: f7, body: s_PatchedEngagementEndpointRequest, responses: { "200": s_EngagementResponse } },
  engagementsMetaPostRetrieve: { header: f7, responses: { "200": s_MetaResponse } },
  engagementsMetaPatchRetrieve: { path: f43, header: f7, responses: { "200": s_MetaResponse } },
  engagementsRemoteFieldClassesList: { query: f44, header: f7, responses: { "200": s_PaginatedRemoteFieldClassList } },
};

/** What is validated for one operation. */
export interface OperationValidators {
  query?: Check;
  path?: Check;
  header?: Check;
  body?: Check;
  responses: Readonly<Record<string, Check>>;
}
