/**
 * What the samples of the README and the guides take as given: a client, the rows of an import, an
 * account's token and ids, and your app's own functions and database. `npm run check:docs`
 * (scripts/check-docs.ts) checks every sample with these in scope; a sample that declares one of these
 * names uses its own.
 */
import type { Engagement, MergeCrmClient } from "merge-crm-engagements";
import type { BulkRow } from "merge-crm-engagements/bulk";
import type { MockServer } from "merge-crm-engagements/mock";
import type { EngagementDraft } from "merge-crm-engagements";

/** Your app's database, as the sync guide's sample uses it. */
interface AppDatabase {
  loadCheckpoint(accountId: string): Promise<string | undefined>;
  transaction(work: (tx: AppTransaction) => Promise<void>): Promise<void>;
}
interface AppTransaction {
  upsertEngagement(engagement: Engagement): Promise<void>;
  deleteEngagement(id: string): Promise<void>;
  saveCheckpoint(accountId: string, checkpoint: string): Promise<void>;
}

declare global {
  const merge: MergeCrmClient<"client">;
  const apiKey: string;
  const accountToken: string;
  const accountId: string;
  /** An engagement's id. */
  const id: string;
  const idempotencyKey: string;
  const rows: AsyncIterable<BulkRow>;
  const draft: EngagementDraft;
  const call: { id: string };
  const callId: string;
  const mock: MockServer;
  const db: AppDatabase;
  function saveEngagement(engagement: Engagement): Promise<void>;
  function updateEngagement(engagement: Engagement): Promise<void>;
  function syncAccount(linkedAccountId: string): Promise<void>;
}
