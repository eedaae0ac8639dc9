export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/**
 * Incremental parser for the `text/event-stream` format (WHATWG HTML §9.2).
 * Feed it decoded text chunks; it returns every message completed by the chunk.
 */
export class SseParser {
  private buffer = "";
  private eventType = "";
  private dataLines: string[] = [];
  private lastId: string | undefined;
  private retry: number | undefined;
  private sawCr = false;

  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.sawCr && text.startsWith("\n")) {
      text = text.slice(1);
    }
    this.sawCr = text.endsWith("\r");
    this.buffer += text;
    const out: SseMessage[] = [];
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? "";
    for (const line of lines) {
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  /** Flush at end of stream; an unterminated final event is discarded, as the spec says. */
  end(): SseMessage[] {
    this.buffer = "";
    this.eventType = "";
    this.dataLines = [];
    return [];
  }

  private line(line: string): SseMessage | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.dataLines.push(value);
        break;
      case "id":
        if (!value.includes("\u0000")) this.lastId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    if (this.dataLines.length === 0) {
      this.eventType = "";
      return null;
    }
    const message: SseMessage = {
      event: this.eventType || "message",
      data: this.dataLines.join("\n"),
    };
    if (this.lastId !== undefined) message.id = this.lastId;
    if (this.retry !== undefined) message.retry = this.retry;
    this.eventType = "";
    this.dataLines = [];
    return message;
  }
}
