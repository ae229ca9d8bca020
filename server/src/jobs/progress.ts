/** Live job progress, kept in memory and written to the catalog at most once a second. */
export interface LiveProgress {
  bytesScanned: number;
  bytesSent: number;
  bytesStored: number;
  filesScanned: number;
  filesChanged: number;
  bytesTotal: number;
  filesTotal: number;
  currentPath: string;
}

export const emptyProgress = (): LiveProgress => ({
  bytesScanned: 0, bytesSent: 0, bytesStored: 0, filesScanned: 0, filesChanged: 0, bytesTotal: 0, filesTotal: 0, currentPath: '',
});
