import { child, childrenNamed, childText, type XmlElement } from '../platforms/syncml/xml';
import { contentTypes, type Datastore, type SessionKind, type SyncmlFormats } from './content';
import { SERVER_PROPERTIES } from './merge';
import { el, type SyncmlVersion, textEl } from './protocol';

/**
 * Device information (OMA DS DevInf 1.2). The server's tells a client which content types each
 * datastore prefers and accepts (the device's format settings decide the preferred one) and, in
 * CTCap, the properties SyncHub keeps, so clients send only those instead of padding every item
 * with empty properties. The client's is kept in summary: who it is and, per datastore and
 * content type, the properties it can store (what its Replace can be trusted to carry).
 */

export const SERVER_SOFTWARE = { man: 'SyncHub', mod: 'SyncHub', swV: '1.0' } as const;

const STRUCTURE: Record<SessionKind, { begin: string[] }> = {
  contacts: { begin: ['VCARD'] },
  events: { begin: ['VCALENDAR', 'VEVENT', 'VALARM'] },
};

const ctCap = (kind: SessionKind, type: { type: string; version: string }): string => {
  const properties = [...SERVER_PROPERTIES[kind]];
  // VALARM's own properties, written with the alarm members.
  if (kind === 'events') properties.push('ACTION');
  const property = (name: string, values: string[] = []) =>
    el('Property', textEl('PropName', name), ...values.map((value) => textEl('ValEnum', value)));
  return el(
    'CTCap',
    textEl('CTType', type.type),
    textEl('VerCT', type.version),
    property('BEGIN', STRUCTURE[kind].begin),
    property('END', STRUCTURE[kind].begin),
    property('VERSION', [type.version]),
    ...properties.map((name) => property(name)),
  );
};

/** Display names of the collections named after their kind; others are shown by their name. */
const DISPLAY: Record<string, string> = { contacts: 'Contacts', events: 'Calendar' };

/** The server's DevInf element for the device's datastores and formats. */
export function serverDevInf(
  version: SyncmlVersion,
  serverUri: string,
  stores: readonly Datastore[],
  formats: SyncmlFormats,
): string {
  const datastores = stores.map(({ collection, kind }) => {
    const { preferred, others } = contentTypes(kind, formats);
    const type = (name: string, t: { type: string; version: string }) =>
      el(name, textEl('CTType', t.type), textEl('VerCT', t.version));
    return el(
      'DataStore',
      textEl('SourceRef', collection),
      textEl('DisplayName', (Object.hasOwn(DISPLAY, collection) && DISPLAY[collection]) || collection),
      textEl('MaxGUIDSize', '200'),
      type('Rx-Pref', preferred),
      ...others.map((t) => type('Rx', t)),
      type('Tx-Pref', preferred),
      ...others.map((t) => type('Tx', t)),
      // DevInf 1.1 puts CTCap elsewhere, in another shape; 1.1 clients get none.
      ...(version === '1.2' ? [preferred, ...others].map((t) => ctCap(kind, t)) : []),
      el('SyncCap', textEl('SyncType', '1'), textEl('SyncType', '2')),
    );
  });
  return el(
    'DevInf',
    textEl('VerDTD', version),
    textEl('Man', SERVER_SOFTWARE.man),
    textEl('Mod', SERVER_SOFTWARE.mod),
    textEl('SwV', SERVER_SOFTWARE.swV),
    textEl('DevID', serverUri),
    textEl('DevTyp', 'server'),
    '<UTC/>',
    version === '1.2' ? '<SupportNumberOfChanges/>' : undefined,
    ...datastores,
  ).replace('<DevInf>', '<DevInf xmlns="syncml:devinf">');
}

/** What SyncHub keeps of a client's DevInf. */
export interface ClientDevInf {
  man?: string;
  mod?: string;
  swV?: string;
  devTyp?: string;
  datastores: {
    uri: string;
    rxPref?: string;
    /** CTCap property names per content type (lower-case type). */
    properties: Record<string, string[]>;
  }[];
}

/** Bounds on what is kept of a client's DevInf (SyncEvolution's lists 120 properties per type). */
const short = (text: string | undefined) => (text && text.length <= 64 ? text : undefined);
const MAX_DATASTORES = 10;
const MAX_TYPES = 4;
const MAX_PROPERTIES = 200;

export function readClientDevInf(devinf: XmlElement): ClientDevInf {
  const datastores = childrenNamed(devinf, 'DataStore')
    .slice(0, MAX_DATASTORES)
    .flatMap((store) => {
      const uri = short(childText(store, 'SourceRef'));
      if (!uri) return [];
      const properties: Record<string, string[]> = {};
      for (const cap of childrenNamed(store, 'CTCap').slice(0, MAX_TYPES)) {
        const type = short(childText(cap, 'CTType'))?.toLowerCase();
        if (!type) continue;
        properties[type] = childrenNamed(cap, 'Property')
          .flatMap((p) => short(childText(p, 'PropName')) ?? [])
          .slice(0, MAX_PROPERTIES);
      }
      const rxPref = short(childText(child(store, 'Rx-Pref'), 'CTType'))?.toLowerCase();
      return [{ uri, ...(rxPref ? { rxPref } : {}), properties }];
    });
  const field = (name: string) => short(childText(devinf, name));
  const [man, mod, swV, devTyp] = ['Man', 'Mod', 'SwV', 'DevTyp'].map(field);
  return {
    ...(man ? { man } : {}),
    ...(mod ? { mod } : {}),
    ...(swV ? { swV } : {}),
    ...(devTyp ? { devTyp } : {}),
    datastores,
  };
}

/** The properties a client stores for one datastore and content type, if it said so. */
export const clientProperties = (
  devinf: ClientDevInf | undefined,
  datastoreUri: string,
  type: string,
): string[] | undefined => {
  const normalise = (uri: string) => uri.replace(/^\.\//, '');
  const store = devinf?.datastores.find((d) => normalise(d.uri) === normalise(datastoreUri));
  return store?.properties[type.toLowerCase()];
};
