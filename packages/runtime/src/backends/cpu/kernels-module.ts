/**
 * The part of `@gptoss/kernels-native` this backend uses, described structurally so that the runtime type-checks and
 * bundles without the addon package (it is an optional dependency, imported at run time).
 */
export interface NativeKvCacheHandle {
  readonly capacity: number;
  allocatedBytes(): number;
  dispose(): void;
}

export interface NativeForwardResult {
  logits?: Float32Array;
  topIds?: Int32Array;
  topValues?: Float32Array;
}

export interface NativeCpuModel {
  createCache(capacity: number): NativeKvCacheHandle;
  forward(p: {
    tokens: ArrayLike<number>;
    positions: ArrayLike<number>;
    seq: ArrayLike<number>;
    caches: NativeKvCacheHandle[];
    outRows: ArrayLike<number>;
    logits?: boolean;
    topK?: number;
  }): Promise<NativeForwardResult>;
  prefetch(): void;
  populate(): Promise<void>;
  mappedBytes(): number;
  dispose(): void;
}

export type NativeTensorRef =
  | { file: number; offset: number; bytes: number; dtype: 'BF16' | 'F32' | 'U8' }
  | { data: ArrayBufferView; dtype: 'BF16' | 'F32' | 'U8' };

export interface KernelsNativeModule {
  isAvailable(): boolean;
  loadError(): Error | undefined;
  getIsa(): string;
  getThreads(): number;
  setIsa(isa: string): void;
  supportedIsas(): string[];
  setPrefillPrecision?(p: 'fp32' | 'bf16'): void;
  getPrefillPrecision?(): 'fp32' | 'bf16';
  setDecodePrecision?(p: 'fp32' | 'int8'): void;
  getDecodePrecision?(): 'fp32' | 'int8';
  CpuModel: new (dims: Record<string, number>, files: string[], tensors: Record<string, NativeTensorRef>) => NativeCpuModel;
}

const SPECIFIER = '@gptoss/kernels-native';

let loading: Promise<KernelsNativeModule | string> | undefined;

/** Imports the kernels package once; resolves to the module or to the reason it cannot be used. */
export function loadKernels(): Promise<KernelsNativeModule | string> {
  loading ??= (async () => {
    try {
      // A variable keeps bundlers and tsc from resolving it at build time. GPTOSS_KERNELS_NATIVE_MODULE points at
      // another build of the package (a file URL), e.g. a source checkout.
      const spec: string = process.env.GPTOSS_KERNELS_NATIVE_MODULE || SPECIFIER;
      return (await import(/* @vite-ignore */ spec)) as KernelsNativeModule;
    } catch (e) {
      return `${SPECIFIER} is not installed (${(e as Error).message.split('\n')[0]}); add it next to @gptoss/runtime`;
    }
  })();
  return loading;
}
