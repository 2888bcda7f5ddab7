import { KernelShapeError, WebGpuUnavailableError } from './errors.js';

/** GPUBufferUsage / GPUMapMode as numbers: Node has no WebGPU globals unless the caller installs them. */
export const Usage = {
  MAP_READ: 1,
  MAP_WRITE: 2,
  COPY_SRC: 4,
  COPY_DST: 8,
  UNIFORM: 64,
  STORAGE: 128,
  INDIRECT: 256,
} as const;
const MAP_READ_MODE = 1;

/** What the adapter offers that the kernels care about; decides between the portable and the fast code path. */
export interface GpuCaps {
  /** `subgroups` enabled and the subgroup size is fixed at 32 (NVIDIA): reductions use subgroupAdd/Max. */
  subgroups32: boolean;
  /**
   * The adapter is a CPU rasteriser (SwiftShader, a fallback adapter): kernels pick shapes without workgroup
   * barriers there (one invocation per output row), because each barrier costs a fiber switch per invocation.
   */
  cpuLike: boolean;
  /** `shader-f16` enabled. */
  f16: boolean;
  /** `chromium-experimental-subgroup-matrix` present on the adapter. */
  subgroupMatrix: boolean;
  /**
   * The f16 × f16 → f32 subgroup-matrix shape enabled on the device (tensor cores), or null: the prefill GEMMs then
   * use it (see kernels/smat.ts).
   */
  subgroupMatrixShape: SubgroupMatrixShape | null;
  /** How the subgroup-matrix kernels get a subgroup-uniform subgroup index (probed on first use). */
  subgroupMatrixUniformity?: 'subgroup_id' | 'broadcast';
  maxStorageBindingSize: number;
  maxBufferSize: number;
  maxWorkgroupStorage: number;
  maxStorageBuffersPerStage: number;
  /** Short description for logs: adapter vendor/architecture and the path taken. */
  description: string;
}

/** One supported subgroup-matrix configuration: left M×K, right K×N, result M×N. */
export interface SubgroupMatrixShape {
  M: number;
  N: number;
  K: number;
}

/** One storage/uniform binding of a kernel, as declared in WGSL. */
export interface BindingDecl {
  name: string;
  /** WGSL type, e.g. `array<f32>` or `array<vec4<u32>>`. */
  type: string;
  access: 'read' | 'read_write';
}

export type ParamType = 'u32' | 'i32' | 'f32';

/**
 * A compute program: everything needed to build (and cache) a pipeline. Bindings are storage buffers 0..n-1 in the
 * order given; when `params` is non-empty a uniform struct `P` sits at binding n as `p`.
 */
export interface KernelProgram {
  name: string;
  /** Unique per generated shader text (the shader is built only on a cache miss). */
  cacheKey: string;
  bindings: BindingDecl[];
  params: ReadonlyArray<readonly [string, ParamType]>;
  /** WGSL after the declarations: helpers and the `@compute` entry point `main`. */
  body(): string;
  /** `enable` directives (e.g. `subgroups`, `f16`). */
  enables?: string[];
  /** Other global directives (e.g. `diagnostic(off, …)`), written after the enables. */
  directives?: string[];
  /** Shape facts the recording helper needs (e.g. workgroups per KV head). */
  meta?: Record<string, number>;
}

export type BufferRef = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export function shaderText(p: KernelProgram): string {
  const lines: string[] = [];
  for (const e of p.enables ?? []) lines.push(`enable ${e};`);
  for (const d of p.directives ?? []) lines.push(`${d};`);
  p.bindings.forEach((b, i) => {
    lines.push(`@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name}: ${b.type};`);
  });
  if (p.params.length > 0) {
    lines.push(`struct P {\n${p.params.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n};`);
    lines.push(`@group(0) @binding(${p.bindings.length}) var<uniform> p: P;`);
  }
  lines.push(p.body());
  return lines.join('\n');
}

const PARAM_SLOT = 256;
const ARENA_SLOTS = 8192;

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/**
 * Owns the device for the kernels: pipeline cache, a uniform arena for per-dispatch parameters, bind-group cache and
 * buffer helpers. A step (e.g. one decode step) is recorded with `begin()` and sent as one command buffer.
 */
export class GpuContext {
  readonly device: GPUDevice;
  readonly caps: GpuCaps;
  private readonly pipelines = new Map<string, CachedPipeline>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly arena: GPUBuffer;
  private readonly arenaData = new ArrayBuffer(PARAM_SLOTS_BYTES);
  private readonly errors: string[] = [];
  /**
   * @internal Timestamp profiling state: `'dispatch'` times each dispatch (one pass each), `'step'` times each
   * submitted step as a whole (dispatches stay in one pass, so the figure includes the gaps between them).
   */
  profiler: { set: GPUQuerySet; resolve: GPUBuffer; names: string[]; capacity: number; mode: 'dispatch' | 'step' } | null =
    null;
  /**
   * @internal Benchmarks only: dispatches for which this returns false are not recorded (the step's GPU time without
   * them measures their cost in place; the results are then meaningless).
   */
  dispatchFilter: ((program: KernelProgram, workgroups: number) => boolean) | null = null;

  /** Times every following dispatch (or, with mode `'step'`, every step) on the GPU (needs `timestamp-query`). */
  enableProfiling(capacity = 2048, mode: 'dispatch' | 'step' = 'dispatch'): void {
    this.profiler = {
      set: this.device.createQuerySet({ type: 'timestamp', count: capacity * 2 }),
      resolve: this.device.createBuffer({ size: capacity * 16, usage: 512 /* QUERY_RESOLVE */ | Usage.COPY_SRC }),
      names: [],
      capacity,
      mode,
    };
  }

  /**
   * GPU time (µs) of each dispatch (or step, in `'step'` mode) recorded since the last read, in order; the steps must
   * have been submitted.
   */
  async readTimes(): Promise<{ name: string; us: number }[]> {
    return (await this.readStamps()).map(({ name, beginUs, endUs }) => ({ name, us: endUs - beginUs }));
  }

  /**
   * @internal Begin and end timestamps (µs, relative to the first begin) of each dispatch or step recorded since the
   * last read: benchmarks read the GPU's idle time between steps from them.
   */
  async readStamps(): Promise<{ name: string; beginUs: number; endUs: number }[]> {
    const pr = this.profiler;
    if (!pr || pr.names.length === 0) return [];
    const n = pr.names.length;
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(pr.set, 0, 2 * n, pr.resolve, 0);
    this.device.queue.submit([enc.finish()]);
    const ts = new BigUint64Array(await this.read(pr.resolve, 16 * n));
    const t0 = ts[0];
    const out = pr.names.map((name, i) => ({
      name,
      beginUs: Number(ts[2 * i] - t0) / 1000,
      endUs: Number(ts[2 * i + 1] - t0) / 1000,
    }));
    pr.names = [];
    return out;
  }

  /** GPU time per kernel name (µs, summed) of the dispatches recorded since the last read, plus the total. */
  async readProfile(): Promise<{ kernels: Map<string, { count: number; us: number }>; totalUs: number }> {
    const kernels = new Map<string, { count: number; us: number }>();
    let total = 0;
    for (const { name, us } of await this.readTimes()) {
      const k = kernels.get(name) ?? { count: 0, us: 0 };
      k.count++;
      k.us += us;
      kernels.set(name, k);
      total += us;
    }
    return { kernels, totalUs: total };
  }

  /** @internal Objects whose lifetime must match the context's (the Dawn instance in Node). */
  keepAlive: unknown;
  /**
   * Whether the generation loop should sleep until a step is nearly done before mapping its readback (see
   * ReadbackPacer): true for Dawn in Node, which polls with fresh JavaScript functions while a map is pending;
   * browsers resolve maps from their own event loop.
   */
  pacedReadback = false;
  /** Dispatches recorded since construction (benchmarks read the difference around a step). */
  dispatchCount = 0;

  constructor(device: GPUDevice, caps: GpuCaps) {
    this.device = device;
    this.caps = caps;
    this.arena = device.createBuffer({ size: PARAM_SLOTS_BYTES, usage: Usage.UNIFORM | Usage.COPY_DST });
    device.addEventListener?.('uncapturederror', (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(err?.message ?? String(err));
    });
  }

  /**
   * Compiles a program off the cache and says why it fails, or null when it compiles: used to probe optional paths
   * (e.g. subgroup matrices, whose shader support varies by driver) before choosing them.
   */
  /** @internal Warnings and notes of the last probed shader (benchmarks print them). */
  probeMessages: string[] = [];

  async probeProgram(program: KernelProgram): Promise<string | null> {
    const d = this.device;
    d.pushErrorScope('validation');
    d.pushErrorScope('internal');
    let failure: string | null = null;
    try {
      const module = d.createShaderModule({ code: shaderText(program), label: `probe ${program.name}` });
      const info = await module.getCompilationInfo?.();
      const msgs = info?.messages ?? [];
      this.probeMessages = msgs.filter((m) => m.type !== 'error').map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
      const errs = msgs.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
      if (errs.length) failure = errs.join('; ');
      else await d.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    } catch (e) {
      failure = (e as Error).message ?? String(e);
    }
    const internal = await d.popErrorScope();
    const validation = await d.popErrorScope();
    return failure ?? validation?.message ?? internal?.message ?? null;
  }

  pipeline(program: KernelProgram): CachedPipeline {
    let c = this.pipelines.get(program.cacheKey);
    if (c) return c;
    const entries: GPUBindGroupLayoutEntry[] = program.bindings.map((b, i) => ({
      binding: i,
      visibility: 4 /* COMPUTE */,
      buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
    }));
    if (program.params.length > 0) {
      entries.push({ binding: program.bindings.length, visibility: 4, buffer: { type: 'uniform' } });
    }
    const layout = this.device.createBindGroupLayout({ entries, label: program.name });
    const module = this.device.createShaderModule({ code: shaderText(program), label: program.name });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
      label: program.name,
    });
    c = { pipeline, layout };
    this.pipelines.set(program.cacheKey, c);
    return c;
  }

  /** @internal A number per buffer object (bind-group and dispatch-plan keys). */
  bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  /**
   * The bind group used at each parameter slot by the last step, checked by identity first: a decode step records the
   * same dispatches every token, and building the cache key below costs more host time than the comparison.
   */
  private readonly slotBindGroups: ({ program: KernelProgram; buffers: BufferRef[]; bg: GPUBindGroup } | undefined)[] = [];

  /** @internal */
  bindGroup(program: KernelProgram, buffers: BufferRef[], slot: number): GPUBindGroup {
    if (buffers.length !== program.bindings.length) {
      throw new KernelShapeError(
        `${program.name}: expected ${program.bindings.length} buffers, got ${buffers.length}`,
      );
    }
    const last = this.slotBindGroups[slot];
    if (last && last.program === program && sameBuffers(last.buffers, buffers)) return last.bg;
    const bg = this.bindGroupByKey(program, buffers, slot);
    this.slotBindGroups[slot] = { program, buffers: buffers.slice(), bg };
    return bg;
  }

  private bindGroupByKey(program: KernelProgram, buffers: BufferRef[], slot: number): GPUBindGroup {
    const refs = buffers.map((b) => ('buffer' in b && !('mapState' in b) ? b : { buffer: b as GPUBuffer }));
    let key = program.cacheKey;
    for (const r of refs) key += `|${this.bufferId(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`;
    if (program.params.length > 0) key += `|s${slot}`;
    let bg = this.bindGroups.get(key);
    if (bg) return bg;
    const { layout } = this.pipeline(program);
    const entries: GPUBindGroupEntry[] = refs.map((r, i) => ({
      binding: i,
      resource: r.size === undefined ? { buffer: r.buffer, offset: r.offset ?? 0 } : { buffer: r.buffer, offset: r.offset ?? 0, size: r.size },
    }));
    if (program.params.length > 0) {
      entries.push({
        binding: program.bindings.length,
        resource: { buffer: this.arena, offset: slot * PARAM_SLOT, size: PARAM_SLOT },
      });
    }
    bg = this.device.createBindGroup({ layout, entries });
    if (this.bindGroups.size > 20000) this.bindGroups.clear();
    this.bindGroups.set(key, bg);
    return bg;
  }

  /** Starts recording a step. Steps must be submitted in the order they were begun. */
  begin(): StepRecorder {
    return new StepRecorder(this, this.arena, this.arenaData);
  }

  createBuffer(size: number, label?: string, extraUsage = 0): GPUBuffer {
    const s = Math.max(16, Math.ceil(size / 16) * 16);
    if (s > this.caps.maxBufferSize) {
      throw new KernelShapeError(
        `buffer ${label ?? ''} of ${s} bytes exceeds the adapter's maxBufferSize ${this.caps.maxBufferSize}; split it`,
      );
    }
    return this.device.createBuffer({
      size: s,
      usage: Usage.STORAGE | Usage.COPY_DST | Usage.COPY_SRC | extraUsage,
      label,
    });
  }

  /** Uploads bytes into a new storage buffer (padded to 16 bytes). */
  upload(data: ArrayBufferView, label?: string): GPUBuffer {
    const buf = this.createBuffer(data.byteLength, label);
    this.write(buf, data);
    return buf;
  }

  write(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // Large uploads go in slices so that Dawn's staging copies stay bounded.
    const SLICE = 1 << 28;
    if (bytes.byteLength > SLICE) {
      for (let o = 0; o < bytes.byteLength; o += SLICE) {
        this.write(buf, bytes.subarray(o, Math.min(bytes.byteLength, o + SLICE)), offset + o);
      }
      return;
    }
    // writeBuffer needs a size that is a multiple of 4.
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      this.device.queue.writeBuffer(buf, offset, padded);
    } else {
      this.device.queue.writeBuffer(buf, offset, bytes);
    }
  }

  /** Reads `size` bytes from `buf` at `offset` (waits for all submitted work). */
  async read(buf: GPUBuffer, size: number, offset = 0): Promise<ArrayBuffer> {
    const s = Math.ceil(size / 4) * 4;
    const staging = this.device.createBuffer({ size: s, usage: Usage.MAP_READ | Usage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, offset, staging, 0, s);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(MAP_READ_MODE);
    const out = staging.getMappedRange().slice(0, size);
    staging.unmap();
    staging.destroy();
    this.throwErrors();
    return out;
  }

  async readF32(buf: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
    return new Float32Array(await this.read(buf, count * 4, offset));
  }

  async readU32(buf: GPUBuffer, count: number, offset = 0): Promise<Uint32Array> {
    return new Uint32Array(await this.read(buf, count * 4, offset));
  }

  /** Resolves when all submitted work is done; throws if the device reported errors meanwhile. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.throwErrors();
  }

  private throwErrors(): void {
    if (this.errors.length > 0) {
      const msg = this.errors.splice(0).join('\n');
      throw new KernelShapeError(`WebGPU reported errors: ${msg}`);
    }
  }

  destroy(): void {
    this.arena.destroy();
    this.device.destroy();
  }
}

const PARAM_SLOTS_BYTES = PARAM_SLOT * ARENA_SLOTS;

function sameBuffers(a: readonly BufferRef[], b: readonly BufferRef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (!('buffer' in x) || !('buffer' in y) || 'mapState' in x || 'mapState' in y) return false;
    if (x.buffer !== y.buffer || x.offset !== y.offset || x.size !== y.size) return false;
  }
  return true;
}

/**
 * A recorded run of dispatches that can be replayed into later steps without running the code that recorded it:
 * a decode step records the same ~150 dispatches every token, and building them costs about as much host time as
 * Dawn's own work (bench/RESULTS.md, session 10). Parameters are copied from the capture; `patches` name the u32
 * parameters that the replayer supplies afresh (positions, token indices).
 */
export interface DispatchPlan {
  /** Parameter slot of the first dispatch: bind groups point at fixed slots, so a plan replays only from there. */
  readonly slot0: number;
  readonly entries: readonly { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; x: number; y: number; z: number }[];
  /** Parameter bytes of slots slot0.. as captured. */
  readonly params: Uint8Array;
  readonly patches: readonly { offset: number; tag: number }[];
}

/** Records dispatches of one step into one compute pass. */
export class StepRecorder {
  private readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null;
  private slot = 0;
  private submitted = false;
  private readonly view: DataView;
  dispatches = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly arena: GPUBuffer,
    arenaData: ArrayBuffer,
  ) {
    this.encoder = ctx.device.createCommandEncoder();
    const pr = ctx.profiler;
    if (pr?.mode === 'step' && pr.names.length < pr.capacity) {
      this.stepQuery = pr.names.length;
      pr.names.push('step');
      this.pass = this.encoder.beginComputePass({
        timestampWrites: { querySet: pr.set, beginningOfPassWriteIndex: 2 * this.stepQuery },
      });
    } else {
      this.pass = this.encoder.beginComputePass();
    }
    this.view = new DataView(arenaData);
  }

  /** Query index of this step's timestamps in `'step'` profiling, else -1. */
  private readonly stepQuery: number = -1;

  /**
   * Adds one dispatch. `workgroups` may exceed 65535 in x: it is folded into y, and kernels recover the linear index
   * with `wgIndex()` (see wgsl.ts).
   */
  dispatch(
    program: KernelProgram,
    buffers: BufferRef[],
    params: Record<string, number>,
    workgroups: number | [number, number?, number?],
  ): void {
    if (this.submitted) throw new KernelShapeError('step already submitted');
    const slot = this.slot++;
    if (slot >= ARENA_SLOTS) throw new KernelShapeError(`more than ${ARENA_SLOTS} dispatches in one step`);
    if (program.params.length > 0) {
      let o = slot * PARAM_SLOT;
      for (const [name, t] of program.params) {
        const v = params[name];
        if (v === undefined) throw new KernelShapeError(`${program.name}: missing parameter ${name}`);
        if (t === 'f32') this.view.setFloat32(o, v, true);
        else if (t === 'i32') this.view.setInt32(o, v, true);
        else this.view.setUint32(o, v >>> 0, true);
        o += 4;
      }
    }
    const [x0, y0 = 1, z0 = 1] = typeof workgroups === 'number' ? [workgroups] : workgroups;
    if (x0 === 0 || y0 === 0 || z0 === 0) return;
    if (this.ctx.dispatchFilter && !this.ctx.dispatchFilter(program, x0 * y0 * z0)) return;
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    let x = x0;
    let y = y0;
    if (x > 65535) {
      if (y !== 1) throw new KernelShapeError(`${program.name}: workgroups.x ${x} too large with y ${y}`);
      y = Math.ceil(x / 65535);
      x = Math.ceil(x / y);
    }
    const { pipeline } = this.ctx.pipeline(program);
    const pr = this.ctx.profiler;
    if (pr && pr.mode === 'dispatch' && pr.names.length < pr.capacity) {
      const i = pr.names.length;
      pr.names.push(program.name);
      this.pass.end();
      this.pass = this.encoder.beginComputePass({
        timestampWrites: { querySet: pr.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
    }
    const bindGroup = this.ctx.bindGroup(program, buffers, slot);
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z0);
    this.dispatches++;
    this.ctx.dispatchCount++;
    const cap = this.capture;
    if (cap) {
      cap.entries.push({ pipeline, bindGroup, x, y, z: z0 });
      if (this.patchTag) {
        const i = program.params.findIndex(([n]) => n === this.patchTag!.param);
        if (i < 0) throw new KernelShapeError(`${program.name}: no parameter ${this.patchTag.param} to patch`);
        cap.patches.push({ offset: (slot - cap.slot0) * PARAM_SLOT + 4 * i, tag: this.patchTag.tag });
      }
    }
  }

  private capture: { slot0: number; entries: DispatchPlan['entries'][number][]; patches: { offset: number; tag: number }[] } | null =
    null;
  /**
   * While capturing: u32 parameter `param` of the following dispatches is recorded as a patch point with `tag` (the
   * replayer's key for the value to write there); null stops marking.
   */
  patchTag: { param: string; tag: number } | null = null;

  /**
   * Whether dispatches recorded now may be captured into a plan (not while benchmarks time or filter single
   * dispatches: those change what a dispatch records).
   */
  get canCapture(): boolean {
    return !this.ctx.dispatchFilter && this.ctx.profiler?.mode !== 'dispatch';
  }

  /** Starts capturing the following dispatches into a plan (see DispatchPlan). */
  beginCapture(): void {
    if (!this.canCapture) throw new KernelShapeError('dispatch plans cannot be captured while dispatches are filtered or timed');
    this.capture = { slot0: this.slot, entries: [], patches: [] };
  }

  /** Ends the capture started by beginCapture. */
  endCapture(): DispatchPlan {
    const cap = this.capture;
    if (!cap) throw new KernelShapeError('endCapture without beginCapture');
    this.capture = null;
    this.patchTag = null;
    const bytes = new Uint8Array(this.view.buffer, cap.slot0 * PARAM_SLOT, (this.slot - cap.slot0) * PARAM_SLOT).slice();
    return { slot0: cap.slot0, entries: cap.entries, params: bytes, patches: cap.patches };
  }

  /** The parameter slot of the next dispatch. */
  get nextSlot(): number {
    return this.slot;
  }

  /** Whether `plan` can be replayed next (it starts at the recorder's next parameter slot). */
  canReplay(plan: DispatchPlan): boolean {
    return this.canCapture && plan.slot0 === this.slot && this.slot + plan.params.byteLength / PARAM_SLOT <= ARENA_SLOTS;
  }

  /** Records `plan`'s dispatches again, with `value(tag)` written at each of its patch points. */
  replay(plan: DispatchPlan, value: (tag: number) => number): void {
    if (this.submitted) throw new KernelShapeError('step already submitted');
    if (!this.canReplay(plan)) throw new KernelShapeError(`dispatch plan for slot ${plan.slot0} replayed at slot ${this.slot}`);
    const base = plan.slot0 * PARAM_SLOT;
    new Uint8Array(this.view.buffer, base, plan.params.byteLength).set(plan.params);
    for (const p of plan.patches) this.view.setUint32(base + p.offset, value(p.tag) >>> 0, true);
    this.slot += plan.params.byteLength / PARAM_SLOT;
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    const pass = this.pass;
    for (const e of plan.entries) {
      pass.setPipeline(e.pipeline);
      pass.setBindGroup(0, e.bindGroup);
      pass.dispatchWorkgroups(e.x, e.y, e.z);
    }
    this.dispatches += plan.entries.length;
    this.ctx.dispatchCount += plan.entries.length;
  }

  /** Ends the pass and copies `size` bytes of `src` into `dst` after all dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Ends the current compute pass; the next dispatch starts a new one (benchmarks compare the two). */
  breakPass(): void {
    this.endPass();
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** @internal Benchmarks: ends the recording without submitting it (the host cost of recording alone). */
  discard(): void {
    this.submitted = true;
    this.endPass();
    this.encoder.finish();
  }

  /** Uploads the parameters and submits the step as one command buffer. */
  submit(): void {
    this.submitted = true;
    this.endPass();
    if (this.stepQuery >= 0) {
      // An empty pass whose end timestamp is written once everything before it in the step has finished.
      const pr = this.ctx.profiler!;
      this.encoder
        .beginComputePass({ timestampWrites: { querySet: pr.set, endOfPassWriteIndex: 2 * this.stepQuery + 1 } })
        .end();
    }
    if (this.slot > 0) {
      this.ctx.device.queue.writeBuffer(this.arena, 0, this.view.buffer, 0, this.slot * PARAM_SLOT);
    }
    this.ctx.device.queue.submit([this.encoder.finish()]);
  }
}

export interface CreateGpuOptions {
  /**
   * Use the fast path when the adapter allows it (subgroups of 32, shader-f16). Default true. `false` forces the
   * portable path (what CI's SwiftShader runs), useful to compare both on one GPU.
   */
  fast?: boolean;
  /**
   * Kernel shapes: `'auto'` (default) picks barrier-free row-per-invocation shapes on CPU rasterisers (SwiftShader)
   * and workgroup-cooperative ones on GPUs; `'gpu'` / `'cpu'` force one (tests run both on SwiftShader).
   */
  kernelShapes?: 'auto' | 'gpu' | 'cpu';
  /**
   * Use shader-f16 where the fast path has it (MXFP4 weights decoded and multiplied in f16 pairs, f32 accumulation).
   * Default true; false keeps every kernel in f32.
   */
  f16?: boolean;
  /** Request `timestamp-query` and time every dispatch (one compute pass each); see GpuContext.readProfile. */
  profile?: boolean;
  /**
   * Use subgroup matrices (tensor cores) for the prefill GEMMs when the adapter has an f16 → f32 configuration.
   * Default true (needs the fast path and f16).
   */
  subgroupMatrix?: boolean;
  /** Dawn toggles for Node (`webgpu`'s create()). Default: unlock f16/subgroup matrices on NVIDIA. */
  dawnFlags?: string[];
  /**
   * Node only: false turns on Dawn's `skip_validation` toggle, which drops WebGPU's per-command validation (about a
   * third of the host time of a decode step: ~150 dispatches are recorded per token). Shader bounds checks stay on,
   * so buffer accesses remain clamped; a wrong command is then undefined behaviour instead of an error. Default true.
   */
  validation?: boolean;
}

const DEFAULT_DAWN_FEATURES = 'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia';

interface SubgroupMatrixConfigInfo {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/**
 * The adapter's f16 × f16 → f32 subgroup-matrix configuration that the 2 × 4 subgroup layout of the prefill GEMMs can
 * tile (M ≤ 16 dividing 16, N and K dividing 32), preferring the largest; null when there is none.
 */
export function pickSubgroupMatrixShape(adapter: GPUAdapter): SubgroupMatrixShape | null {
  if (!adapter.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName)) return null;
  const info = adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: readonly SubgroupMatrixConfigInfo[] };
  const ok = (info.subgroupMatrixConfigs ?? []).filter(
    (c) =>
      c.componentType === 'f16' &&
      c.resultComponentType === 'f32' &&
      16 % c.M === 0 &&
      32 % c.N === 0 &&
      32 % c.K === 0 &&
      (c.M * c.N) % 32 === 0,
  );
  ok.sort((a, b) => b.M * b.N * b.K - a.M * a.N * a.K);
  return ok.length ? { M: ok[0].M, N: ok[0].N, K: ok[0].K } : null;
}

/** Creates a context from an existing adapter (browser: `await navigator.gpu.requestAdapter()`). */
export async function createGpuContextFromAdapter(
  adapter: GPUAdapter,
  options: CreateGpuOptions = {},
): Promise<GpuContext> {
  const fast = options.fast ?? true;
  const features: GPUFeatureName[] = [];
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const sg32 = adapter.features.has('subgroups') && info.subgroupMinSize === 32 && info.subgroupMaxSize === 32;
  if (fast && sg32) features.push('subgroups' as GPUFeatureName);
  const f16 = fast && (options.f16 ?? true) && adapter.features.has('shader-f16');
  if (f16) features.push('shader-f16');
  const smatShape = f16 && sg32 && (options.subgroupMatrix ?? true) ? pickSubgroupMatrixShape(adapter) : null;
  if (smatShape) features.push('chromium-experimental-subgroup-matrix' as GPUFeatureName);
  const profile = !!options.profile && adapter.features.has('timestamp-query');
  if (profile) features.push('timestamp-query');
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    },
  });
  const cpuLike =
    /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.description} ${info.device}`) ||
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const shapes = options.kernelShapes ?? 'auto';
  const caps: GpuCaps = {
    cpuLike: shapes === 'auto' ? cpuLike : shapes === 'cpu',
    subgroups32: fast && sg32,
    f16,
    subgroupMatrix: adapter.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName),
    subgroupMatrixShape: smatShape,
    maxStorageBindingSize: device.limits.maxStorageBufferBindingSize,
    maxBufferSize: device.limits.maxBufferSize,
    maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerStage: device.limits.maxStorageBuffersPerShaderStage,
    description: `${info.vendor || '?'} ${info.architecture || ''} ${info.description || info.device || ''}`.trim(),
  };
  caps.description += fast && sg32 ? ' [fast path: subgroups32]' : ' [portable path]';
  if (smatShape) caps.description += ` [subgroup matrix f16 ${smatShape.M}x${smatShape.N}x${smatShape.K}]`;
  const ctx = new GpuContext(device, caps);
  if (profile) ctx.enableProfiling();
  return ctx;
}

/**
 * Node: creates a context on the `webgpu` package (Dawn). Throws WebGpuUnavailableError when no adapter exists
 * (on Linux without a GPU, point VK_ICD_FILENAMES at SwiftShader's ICD; see the README).
 */
export async function createNodeGpuContext(options: CreateGpuOptions = {}): Promise<GpuContext> {
  let mod: { create: (flags: string[]) => GPU };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new WebGpuUnavailableError(
      'the `webgpu` package (Dawn for Node) could not be loaded; install it or pass a GPUAdapter from navigator.gpu',
      { cause: e },
    );
  }
  const flags = options.dawnFlags ?? [
    `${DEFAULT_DAWN_FEATURES}${options.validation === false ? ',skip_validation' : ''}`,
    // Profiling wants real timestamps, not ones rounded for fingerprinting protection.
    ...(options.profile ? ['disable-dawn-features=timestamp_quantization'] : []),
  ];
  const gpu = mod.create(flags);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'no WebGPU adapter found: expected a Vulkan/Metal/D3D12 GPU. On Linux without a GPU set ' +
        'VK_ICD_FILENAMES to a SwiftShader ICD (and LD_LIBRARY_PATH to its libvulkan.so.1).',
    );
  }
  const ctx = await createGpuContextFromAdapter(adapter, options);
  // The Dawn instance must outlive the device: if it is garbage-collected, Dawn tears down under the device.
  ctx.keepAlive = gpu;
  ctx.pacedReadback = true;
  return ctx;
}
