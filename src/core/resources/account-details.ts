/**
 * The Account Details resource: `merge.accountDetails.*`, the linked account an `X-Account-Token`
 * belongs to (its id, CRM, end user and status).
 */
import type { AccountDetails } from "../types.js";
import { callHeaders, read, type AccountTokenMode, type OptionsArg, type RequestOptions, type ResourceContext } from "./shared.js";

/** `merge.accountDetails`. */
export interface AccountDetailsResource<Mode extends AccountTokenMode = "client"> {
  /**
   * Fetches the linked account of the call's account token: `GET /crm/v1/account-details`. Its `id`
   * is the one webhooks carry as `linked_account.id`.
   * @example
   * const { id, integration_slug, status } = await merge.accountDetails.retrieve();
   */
  retrieve(...options: OptionsArg<Mode, RequestOptions>): Promise<AccountDetails>;
}

export function createAccountDetails(context: ResourceContext): AccountDetailsResource<AccountTokenMode> {
  const { raw, transport } = context;
  return {
    async retrieve(options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      return read(transport, "accountDetailsRetrieve", options, { header }, (fetch, signal) =>
        raw.GET("/crm/v1/account-details", { params: { header }, fetch, signal }),
      );
    },
  };
}
