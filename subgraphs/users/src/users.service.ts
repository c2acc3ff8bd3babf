import DataLoader from 'dataloader';
import type { FieldCipher } from '@bth/platform/crypto';
import { FieldErrors, errors } from '@bth/platform/errors';
import { requireAdmin, type Identity } from '@bth/platform/identity';
import { isUuid } from '@bth/platform/validation';
import type { UserRow } from './db/schema.js';
import type { UsersRepository } from './users.repository.js';
import { checkAddress, checkPhone, normaliseEmail } from './validation.js';
import type { UpdateProfileInput } from './generated/graphql.js';

/** A user as the API sees it: decrypted, never with the password hash. */
export interface UserView {
  id: string;
  email: string;
  name: string;
  nickname: string;
  phone: string;
  postalCode: string;
  address: string;
  role: UserRow['role'];
  createdAt: Date;
  updatedAt: Date;
}

export type { UpdateProfileInput };

export function createUsersService(deps: { repository: UsersRepository; cipher: FieldCipher; now?: () => Date }) {
  const { repository, cipher } = deps;
  const now = deps.now ?? (() => new Date());

  /**
   * Personal fields are decrypted on first read, not when the row is loaded: most reads (`me { id }`,
   * `_entities` for a nickname) never touch them, and each AES-GCM decryption costs more than the
   * rest of such a request. Getters are own and enumerable, so a spread still copies plain values.
   */
  const toView = (row: UserRow): UserView => {
    const email = decryptOnce(row.emailEnc);
    const name = decryptOnce(row.nameEnc);
    const phone = decryptOnce(row.phoneEnc);
    const postalCode = decryptOnce(row.postalCodeEnc);
    const address = decryptOnce(row.addressEnc);
    return {
      id: row.id,
      get email() {
        return email();
      },
      get name() {
        return name();
      },
      nickname: row.nickname,
      get phone() {
        return phone();
      },
      get postalCode() {
        return postalCode();
      },
      get address() {
        return address();
      },
      role: row.role,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  };

  function decryptOnce(stored: string): () => string {
    let plain: string | undefined;
    return () => (plain ??= cipher.decrypt(stored));
  }

  return {
    toView,

    /** Per-request loader: `me`, `user(id)` and `_entities` for User all batch into one SELECT. */
    createLoader() {
      return new DataLoader<string, UserView | null>(async (ids) => {
        const rows = await repository.findByIds(ids);
        const byId = new Map(rows.map((row) => [row.id, toView(row)]));
        return ids.map((id) => byId.get(id) ?? null);
      });
    },

    /** Personal fields are shown to their owner and to admins; to anyone else they are null. */
    /** Admins only: any member by id; null for an id that names no member. */
    getUser(identity: Identity | null, id: string, loader: DataLoader<string, UserView | null>): Promise<UserView | null> | null {
      requireAdmin(identity);
      return isUuid(id) ? loader.load(id) : null;
    },

    canSeePrivate(identity: Identity | null, user: { id: string }): boolean {
      return identity !== null && (identity.userId === user.id || identity.role === 'ADMIN');
    },

    async updateProfile(identity: Identity, input: UpdateProfileInput): Promise<UserView> {
      const current = await repository.findById(identity.userId);
      if (!current) throw errors.unauthenticated();
      const view = toView(current);
      const phone = input.phone ?? view.phone;
      const postalCode = input.postalCode ?? view.postalCode;
      const address = input.address?.trim() ?? view.address;
      const fieldErrors = new FieldErrors();
      checkPhone(fieldErrors, 'phone', phone);
      checkAddress(fieldErrors, 'postalCode', postalCode, 'address', address);
      fieldErrors.throwIfAny();
      const at = now();
      await repository.updateProfile(
        identity.userId,
        {
          phoneEnc: cipher.encrypt(phone),
          postalCodeEnc: cipher.encrypt(postalCode),
          addressEnc: cipher.encrypt(address),
        },
        at,
      );
      return { ...view, phone, postalCode, address, updatedAt: at };
    },

    /** Used by `npm run create-admin`; there is deliberately no API that raises a role. */
    async promoteToAdmin(email: string): Promise<boolean> {
      return repository.setRole(cipher.blindIndex(normaliseEmail(email)), 'ADMIN', now());
    },

    isRegistered: async (email: string) => repository.existsByEmailIndex(cipher.blindIndex(normaliseEmail(email))),
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
