/**
 * The wire shapes of openapi.yaml, by their schema names: every body the API sends or takes is
 * typed from the contract (`make gen-types`), never written out again by hand.
 */
import type { ErrorCode as SharedErrorCode, SearchHitView as SharedSearchHit } from '@messenger/shared';
import type { components, operations } from './generated/openapi.ts';

type Schemas = components['schemas'];

export type Attachment = Schemas['Attachment'];
export type NewMessage = Schemas['NewMessage'];
export type Message = Schemas['Message'];
export type MessagePage = Schemas['MessagePage'];
export type Pin = Schemas['Pin'];
export type PinList = Schemas['PinList'];
export type AccountExport = Schemas['AccountExport'];
export type Reaction = Schemas['Reaction'];
export type MessageReactions = Schemas['MessageReactions'];
export type ThreadPage = Schemas['ThreadPage'];
export type Chat = Schemas['Chat'];
export type ChatDetails = Schemas['ChatDetails'];
export type ChatMember = Schemas['ChatMember'];
export type ChatMemberPage = Schemas['ChatMemberPage'];
export type SearchTaskStatus = Schemas['SearchTaskStatus'];
export type SearchHit = Schemas['SearchHit'];
export type SearchResultPage = Schemas['SearchResultPage'];
export type UserProfile = Schemas['UserProfile'];
export type InboxMessage = Schemas['InboxMessage'];
export type ActiveSession = Schemas['ActiveSession'];
export type ReadPosition = Schemas['ReadPosition'];
export type EventTicket = Schemas['EventTicket'];
export type TypingEvent = Schemas['TypingEvent'];
export type HealthCheck = Schemas['HealthCheck'];
/** The 201 of postDirectMessage, which the contract writes inline. */
export type DirectMessageSent =
  operations['postDirectMessage']['responses'][201]['content']['application/json'];
export type ErrorBody = Schemas['Error'];
export type ErrorCode = ErrorBody['message'];

/**
 * Shapes that must live in `shared` (the worker writes search hits; every package throws AppError)
 * are checked against the contract here: a change on either side stops `make lint` (tsc).
 */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const errorCodesAreTheContracts: Same<SharedErrorCode, ErrorCode> = true;
const searchHitsAreTheContracts: Same<SharedSearchHit, SearchHit> = true;
void errorCodesAreTheContracts;
void searchHitsAreTheContracts;
