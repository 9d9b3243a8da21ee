import { z } from 'zod';

const cache = new WeakMap<z.ZodType, z.ZodType>();

/**
 * The reader's copy of a result schema: objects ignore keys they do not know (and drop them), all else
 * as declared. An agent answers only what its descriptor declares (the registry parses strictly); a
 * coordinator or peer reading the answer accepts a newer agent's extra fields, so a mixed-version pair
 * still works, while a missing or mistyped field is still refused.
 */
export function lenient<S extends z.ZodType>(schema: S): S {
  const known = cache.get(schema);
  if (known) return known as S;
  const made = loosen(schema) as S;
  cache.set(schema, made);
  return made;
}

function loosen(s: z.ZodType): z.ZodType {
  const def = s._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  const again = (inner: unknown) => loosen(inner as z.ZodType);
  switch (def.type) {
    case 'object': {
      const shape = Object.fromEntries(
        Object.entries(def.shape as Record<string, z.ZodType>).map(([k, v]) => [k, again(v)]),
      );
      return s.clone({ ...def, shape, catchall: undefined } as never);
    }
    case 'array':
      return s.clone({ ...def, element: again(def.element) } as never);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
      return s.clone({ ...def, innerType: again(def.innerType) } as never);
    case 'union':
      return s.clone({ ...def, options: (def.options as z.ZodType[]).map(again) } as never);
    case 'record':
      return s.clone({ ...def, valueType: again(def.valueType) } as never);
    default:
      return s;
  }
}
