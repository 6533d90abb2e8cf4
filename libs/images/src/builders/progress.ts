/** Progress of a long image build, for a CLI progress line or a log. */
export interface BuildProgress {
  /** Short phase name: `resolve`, `download`, `extract`, `configure`, `pack`, `store`. */
  phase: string;
  message: string;
  /** Position within the phase, when known (e.g. packages downloaded so far). */
  current?: number;
  total?: number;
}

export type ProgressSink = (p: BuildProgress) => void;

export const noProgress: ProgressSink = () => undefined;
