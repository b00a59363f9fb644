import { ErrorCode, P2payError } from '@p2pay/core'
import type { CommandOption, Opts } from '../../command.ts'

export const FORM: CommandOption = {
  type: 'string',
  help: "the protocol: fixed (with the judge) or original (the paper's, whose flaw the survey shows)"
}

/** --form, when given. */
export function formOf(o: Opts): { form?: string } {
  const f = o.str('form')
  if (f === undefined) return {}
  if (f !== 'original' && f !== 'fixed') throw new P2payError(ErrorCode.BAD_REQUEST, '--form must be original or fixed')
  return { form: f }
}
