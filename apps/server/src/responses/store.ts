import type { InputItem } from './request.js';
import type { ResponseObject } from './run.js';

export interface StoredResponse {
  input: InputItem[] | string;
  instructions: string | null | undefined;
  response: ResponseObject;
}

/** Responses kept for `previous_response_id`, bounded (least recently used goes first) so memory cannot grow forever. */
export class ResponseStore {
  readonly #map = new Map<string, StoredResponse>();
  constructor(readonly capacity = 1000) {}

  get(id: string): StoredResponse | undefined {
    const v = this.#map.get(id);
    if (v) {
      this.#map.delete(id);
      this.#map.set(id, v);
    }
    return v;
  }

  set(id: string, v: StoredResponse): void {
    this.#map.delete(id);
    this.#map.set(id, v);
    while (this.#map.size > this.capacity) this.#map.delete(this.#map.keys().next().value!);
  }
}
