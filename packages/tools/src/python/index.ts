export type { PythonBackend, PythonRunResult, PythonRunStatus, PythonRunOptions, PythonSandboxLimits } from './backend.js';
export { PyodideBackend } from './pyodide-backend.js';
export type { PyodideBackendOptions } from './pyodide-backend.js';
export { DockerBackend, detectDocker } from './docker-backend.js';
export type { DockerBackendOptions, DockerAvailability } from './docker-backend.js';
export { PythonTool, selectPythonBackend, formatPythonResult } from './python-tool.js';
export type { PythonToolOptions, PythonBackendChoice, BackendSelection } from './python-tool.js';
export { STATELESS_PYTHON_DESCRIPTION, NO_OUTPUT_WARNING } from './descriptions.js';
