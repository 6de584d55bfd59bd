// Target locations at rest (docs/adr/0024-profiles-sync.md): a PostgreSQL URL may hold a password, so every
// location is stored encrypted with AES-256-GCM under SYNC_SECRET_KEY (32 bytes), the target's id as
// associated data (a ciphertext copied onto another target does not open). Pure apart from randomness.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const VERSION = 'v1';

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** A box from the configured key: 32 bytes as base64 or as 64 hex digits. */
  static fromKey(text: string): SecretBox {
    const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
    if (key.length !== 32) throw new Error('SYNC_SECRET_KEY must be 32 bytes, as base64 or 64 hex digits');
    return new SecretBox(key);
  }

  /** Whether `text` decodes to a usable key (config validation). */
  static isKey(text: string): boolean {
    try {
      SecretBox.fromKey(text);
      return true;
    } catch {
      return false;
    }
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
      .join(':');
  }

  /** The plain text, or an error when the key or the context is not the one it was sealed with. */
  open(sealed: string, context: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || iv === undefined || tag === undefined || body === undefined)
      throw new Error('not a sealed location');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('the location cannot be decrypted: SYNC_SECRET_KEY is not the key it was stored with');
    }
  }

  /** A keyed hash of a location: equal locations compare equal without being stored in the clear. */
  fingerprint(text: string): string {
    return createHmac('sha256', this.key).update(text, 'utf8').digest('hex');
  }
}
