/**
 * berthd's content store (content/local-store.ts + metadata/content.ts) in a
 * temp dir, seen from one namespace, for tests that drive the differ in
 * process: the real store, not a stand-in.
 */
import * as path from 'node:path';
import { LocalStore } from '../../../supervisor/src/content/local-store';
import { NamespacedContent, type ContentStore, type ContentWriter, type Descriptor, type ReaderAt } from '../../../supervisor/src/diff/content';
import { ContentStore as MetadataContentStore } from '../../../supervisor/src/metadata/content';
import { MetadataDB } from '../../../supervisor/src/metadata/db';

export class TestContent implements ContentStore {
  readonly db: MetadataDB;
  readonly store: MetadataContentStore;
  private readonly view: NamespacedContent;

  constructor(dir: string, readonly namespace = 'test') {
    this.db = new MetadataDB(path.join(dir, 'meta'));
    this.store = new MetadataContentStore(this.db, new LocalStore(path.join(dir, 'content')));
    this.view = new NamespacedContent(this.store, namespace);
  }

  readerAt(desc: Pick<Descriptor, 'digest'>): Promise<ReaderAt> {
    return this.view.readerAt(desc);
  }

  writer(ref: string): Promise<ContentWriter> {
    return this.view.writer(ref);
  }

  blobPath(digest: string): string {
    return this.store.local.blobPath(digest);
  }

  labels(digest: string): Record<string, string> {
    return this.store.info(this.namespace, digest).labels;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
