/**
 * A URL as it may be shown in a message or a log: its password replaced by `***`. A text that does not
 * parse as a URL loses what follows a ':' before an '@' (it may be a password all the same).
 */
export function withoutPassword(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/:[^:@/]*@/, ":***@");
  }
  if (url.password !== "") url.password = "***";
  return url.toString();
}
