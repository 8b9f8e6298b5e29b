/**
 * Request and response validators, compiled ahead of time from the spec.
 * Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
 */

import type { CompiledSchema } from "../src/core/validation/runtime.js";

/** Every schema of the spec, compiled; schemas refer to each other by index. */
export const schemas: readonly CompiledSchema[] = [
  /* 0 */ {"t":16,"p":{"created_after":1,"created_before":1,"modified_after":1,"modified_before":1,"started_after":1,"started_before":1,"cursor":2,"page_size":3,"expand":4,"include_deleted_data":6,"include_remote_data":6,"include_remote_fields":6,"include_shell_data":6,"remote_id":2}},
  /* 1 */ {"t":1,"f":"date-time"},
  /* 2 */ {"t":1},
  /* 3 */ {"t":4,"r":[1,100]},
  /* 4 */ {"t":32,"i":5,"u":true},
  /* 5 */ {"t":1,"e":["account","contacts","engagement_type","owner"]},
  /* 6 */ {"t":8},
  /* 7 */ {"t":16,"p":{"X-Account-Token":8},"q":["X-Account-Token"]},
  /* 8 */ {"t":1,"l":[1,Infinity]},
  /* 9 */ {"t":16,"p":{"next":10,"previous":10,"results":11},"q":["results"]},
  /* 10 */ {"t":65},
  /* 11 */ {"t":32,"i":12},
  /* 12 */ {"t":16,"p":{"id":13,"remote_id":10,"created_at":1,"modified_at":1,"owner":14,"content":10,"subject":10,"direction":18,"engagement_type":20,"start_time":24,"end_time":24,"account":25,"contacts":29,"engagement_url":32,"remote_was_deleted":6,"field_mappings":33,"remote_data":35,"remote_fields":38}},
  /* 13 */ {"t":1,"f":"uuid"},
  /* 14 */ {"a":[13,15,17]},
  /* 15 */ {"t":16,"p":{"id":13,"remote_id":10,"created_at":1,"modified_at":1,"remote_was_deleted":6,"name":10,"email":10,"is_active":16}},
  /* 16 */ {"t":72},
  /* 17 */ {"t":64},
  /* 18 */ {"a":[19,2,17]},
  /* 19 */ {"t":1,"e":["INBOUND","OUTBOUND"]},
  /* 20 */ {"a":[13,21,17]},
  /* 21 */ {"t":16,"p":{"id":13,"remote_id":10,"created_at":1,"modified_at":1,"remote_was_deleted":6,"activity_type":22,"name":10}},
  /* 22 */ {"a":[23,2,17]},
  /* 23 */ {"t":1,"e":["CALL","MEETING","EMAIL"]},
  /* 24 */ {"t":65,"f":"date-time"},
  /* 25 */ {"a":[13,26,17]},
  /* 26 */ {"t":16,"p":{"id":13,"remote_id":10,"created_at":1,"modified_at":1,"remote_was_deleted":6,"owner":27,"name":10,"description":10,"industry":10,"website":10,"number_of_employees":28,"last_activity_at":24,"remote_created_at":24}},
  /* 27 */ {"t":65,"f":"uuid"},
  /* 28 */ {"t":68},
  /* 29 */ {"t":32,"i":30},
  /* 30 */ {"a":[13,31]},
  /* 31 */ {"t":16,"p":{"id":13,"remote_id":10,"created_at":1,"modified_at":1,"remote_was_deleted":6,"first_name":10,"last_name":10,"account":27,"owner":27,"last_activity_at":24,"remote_created_at":24}},
  /* 32 */ {"t":65,"f":"uri"},
  /* 33 */ {"t":80,"p":{"organization_defined_targets":34,"linked_account_defined_targets":34}},
  /* 34 */ {"t":16,"x":true},
  /* 35 */ {"t":96,"i":36},
  /* 36 */ {"t":16,"p":{"path":2,"data":37},"q":["path"]},
  /* 37 */ {},
  /* 38 */ {"t":32,"i":39},
  /* 39 */ {"t":16,"p":{"remote_field_class":40,"value":37},"q":["remote_field_class"]},
  /* 40 */ {"t":16,"p":{"id":2,"display_name":2,"remote_key_name":2,"description":2,"is_custom":6,"is_common_model_field":6,"is_required":6,"field_type":41,"field_format":41,"field_choices":43,"item_schema":44}},
  /* 41 */ {"a":[42,2]},
  /* 42 */ {"t":1,"e":["string","number","date","datetime","bool","list"]},
  /* 43 */ {"t":32,"i":2},
  /* 44 */ {"t":16,"p":{"item_type":41,"item_format":41,"item_choices":43}},
  /* 45 */ {"t":16,"p":{"is_debug_mode":6,"run_async":6}},
  /* 46 */ {"t":16,"p":{"X-Account-Token":8,"Idempotency-Key":47},"q":["X-Account-Token"]},
  /* 47 */ {"t":1,"l":[1,255]},
  /* 48 */ {"t":16,"p":{"model":49},"q":["model"]},
  /* 49 */ {"t":16,"p":{"owner":27,"content":10,"subject":10,"direction":50,"engagement_type":27,"start_time":24,"end_time":24,"account":27,"contacts":51,"engagement_url":32,"integration_params":52,"linked_account_params":52,"remote_fields":53}},
  /* 50 */ {"a":[19,17]},
  /* 51 */ {"t":32,"i":13},
  /* 52 */ {"t":80,"x":true},
  /* 53 */ {"t":32,"i":54},
  /* 54 */ {"t":16,"p":{"remote_field_class":13,"value":37},"q":["remote_field_class"]},
  /* 55 */ {"t":16,"p":{"model":12,"warnings":56,"errors":56,"logs":60},"q":["model","warnings","errors"]},
  /* 56 */ {"t":32,"i":57},
  /* 57 */ {"t":16,"p":{"source":58,"title":2,"detail":2,"problem_type":2,"block_merge_link":6,"raw_error":2,"error_code":59},"q":["title","detail","problem_type"]},
  /* 58 */ {"t":16,"p":{"pointer":2},"q":["pointer"]},
  /* 59 */ {"t":4},
  /* 60 */ {"t":32,"i":61},
  /* 61 */ {"t":16,"p":{"log_id":2,"dashboard_view":2,"log_summary":62},"q":["log_id","dashboard_view","log_summary"]},
  /* 62 */ {"t":16,"p":{"url":2,"method":2,"status_code":59},"q":["url","method","status_code"]},
  /* 63 */ {"t":16,"p":{"expand":4,"include_remote_data":6,"include_remote_fields":6,"include_shell_data":6}},
  /* 64 */ {"t":16,"p":{"id":13},"q":["id"]},
  /* 65 */ {"t":16,"p":{"model":66},"q":["model"]},
  /* 66 */ {"n":[49]},
  /* 67 */ {"t":16,"p":{"request_schema":34,"status":68,"has_conditional_params":6,"has_required_linked_account_params":6,"remote_fields":51},"q":["request_schema","has_conditional_params","has_required_linked_account_params"]},
  /* 68 */ {"t":16,"p":{"linked_account_status":2,"can_make_request":6},"q":["linked_account_status","can_make_request"]},
  /* 69 */ {"t":16,"p":{"cursor":2,"page_size":3,"include_deleted_data":6,"include_remote_data":6,"include_remote_fields":6,"include_shell_data":6,"is_common_model_field":6,"is_custom":6}},
  /* 70 */ {"t":16,"p":{"next":10,"previous":10,"results":71},"q":["results"]},
  /* 71 */ {"t":32,"i":40},
];

/** The operations of the spec, by operationId. */
export type OperationId = "engagementsList" | "engagementsCreate" | "engagementsRetrieve" | "engagementsPartialUpdate" | "engagementsMetaPostRetrieve" | "engagementsMetaPatchRetrieve" | "engagementsRemoteFieldClassesList";

/** The schema (an index into `schemas`) of each part of each operation: parameters by location, JSON body, 2xx bodies. */
export const operations: Readonly<Record<OperationId, OperationValidators>> = {
  engagementsList: { query: 0, header: 7, responses: { "200": 9 } },
  engagementsCreate: { query: 45, header: 46, body: 48, responses: { "201": 55 } },
  engagementsRetrieve: { query: 63, path: 64, header: 7, responses: { "200": 12 } },
  engagementsPartialUpdate: { query: 45, path: 64, header: 7, body: 65, responses: { "200": 55 } },
  engagementsMetaPostRetrieve: { header: 7, responses: { "200": 67 } },
  engagementsMetaPatchRetrieve: { path: 64, header: 7, responses: { "200": 67 } },
  engagementsRemoteFieldClassesList: { query: 69, header: 7, responses: { "200": 70 } },
};

/** What is validated for one operation. */
export interface OperationValidators {
  query?: number;
  path?: number;
  header?: number;
  body?: number;
  responses: Readonly<Record<string, number>>;
}
