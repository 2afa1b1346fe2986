// Parses iCalendar feeds with Mozilla's ical.js (the parser of Thunderbird and many web calendars).
// Usage: node icaljs_parse.mjs /path/to/node_modules/ical.js/dist/ical.js
// Reads one JSON string (a feed) per line on stdin; writes one JSON line per feed on stdout:
// {"ok": true, "name": ..., "events": [{"uid", "summary", "description", "categories"}]}
// or {"ok": false, "error": "..."}.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const ICAL = (await import(pathToFileURL(process.argv[2]).href)).default;

function parse(text) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  if (calendar.name !== "vcalendar") throw new Error(`top component is ${calendar.name}`);
  const events = calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    const categories = component.getFirstProperty("categories");
    return {
      uid: event.uid,
      summary: event.summary,
      description: event.description,
      categories: categories ? categories.getValues() : [],
      start: event.startDate.toJSDate().toISOString(),
    };
  });
  return { ok: true, name: calendar.getFirstPropertyValue("name"), events };
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  let answer;
  try {
    answer = parse(JSON.parse(line));
  } catch (error) {
    answer = { ok: false, error: String(error && error.message ? error.message : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
