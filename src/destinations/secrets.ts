// Signing secrets of webhook destinations (docs/adr/0023-webhook-destinations.md): generated at creation in
// the Standard Webhooks format (`whsec_` and 32 random bytes in base64), shown once, and stored encrypted
// with AES-256-GCM under DESTINATION_SECRET_KEY. The destination's id is the additional authenticated
// data, so a ciphertext copied onto another destination's row does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
const VERSION = 'v1';

/** A new signing secret, as the `standardwebhooks` package reads it. */
export function newSigningSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** `v1:<iv>:<tag>:<ciphertext>`, each base64. */
export function encryptSecret(key: Buffer, destinationId: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(destinationId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64')))
    .join(':');
}

/** The secret, or an error when the key is not the one it was encrypted with (or the text was altered). */
export function decryptSecret(key: Buffer, destinationId: string, stored: string): string {
  const [version, iv, tag, ciphertext] = stored.split(':');
  if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined)
    throw new Error('the stored signing secret is not in a known format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(destinationId, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString(
    'utf8',
  );
}
