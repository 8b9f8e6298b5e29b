/**
 * A linked account's CRM for the reference tests (`FakeMerge.setDirectory`), with the cases a lookup
 * must tell apart: emails in mixed case, a contact with two emails, an email two contacts share, two
 * accounts of one name, and two CALL types of which one is named "Call". Ids are `id(offset + n)`, so
 * two accounts given other offsets have other ids for the same names.
 */
import type { Directory } from "./fake-merge.js";

/** A UUID ending in `n`: `00000000-0000-4000-8000-000000000042`. */
export const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/**
 * - contacts: `offset+1` Ada (`Ada@Example.com`, remote `c-ada`), `+2` Grace (`grace@example.com` and
 *   `G.Hopper@Example.org`, remote `c-grace`), `+3` and `+4` share `info@example.com` (in two cases);
 * - users: `+11` Rep (`Rep@Example.com`, remote `u-rep`);
 * - accounts: `+21` "Acme Inc" (remote `a-acme`), `+22` and `+23` both "Globex";
 * - engagement types: `+31` CALL "Call" (remote `t-call`), `+32` CALL "Cold call", `+33` MEETING "Meeting".
 */
export function referenceDirectory(offset: number): Partial<Directory> {
  const mail = (...emails: string[]) => emails.map((email_address) => ({ email_address, email_address_type: "WORK" }));
  return {
    contacts: [
      { id: id(offset + 1), remote_id: "c-ada", first_name: "Ada", email_addresses: mail("Ada@Example.com") },
      { id: id(offset + 2), remote_id: "c-grace", first_name: "Grace", email_addresses: mail("grace@example.com", "G.Hopper@Example.org") },
      { id: id(offset + 3), first_name: "Front", email_addresses: mail("info@example.com") },
      { id: id(offset + 4), first_name: "Sales", email_addresses: mail("INFO@example.com") },
    ],
    users: [{ id: id(offset + 11), remote_id: "u-rep", name: "Rep", email: "Rep@Example.com" }],
    accounts: [
      { id: id(offset + 21), remote_id: "a-acme", name: "Acme Inc" },
      { id: id(offset + 22), name: "Globex" },
      { id: id(offset + 23), name: "Globex" },
    ],
    engagementTypes: [
      { id: id(offset + 31), remote_id: "t-call", activity_type: "CALL", name: "Call" },
      { id: id(offset + 32), activity_type: "CALL", name: "Cold call" },
      { id: id(offset + 33), activity_type: "MEETING", name: "Meeting" },
    ],
  };
}
